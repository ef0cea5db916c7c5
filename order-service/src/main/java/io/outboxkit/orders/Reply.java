package io.outboxkit.orders;

import java.util.Objects;

/**
 * An HTTP answer of the order API: a status and a JSON body. The one given to a request with an
 * Idempotency-Key is stored verbatim, and given again, byte for byte, to each retry.
 *
 * @param status   the HTTP status
 * @param body     the JSON body
 * @param replayed whether it is the stored answer to an earlier request with the same key
 */
record Reply(int status, String body, boolean replayed) {

    Reply {
        Objects.requireNonNull(body, "body");
    }

    /** A fresh answer. */
    static Reply of(int status, String body) {
        return new Reply(status, body, false);
    }
}
