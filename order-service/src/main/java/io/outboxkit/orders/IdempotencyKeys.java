package io.outboxkit.orders;

import io.outboxkit.app.http.ApiError;
import java.util.Optional;
import org.jdbi.v3.core.Handle;

/**
 * The {@code idempotency_keys} table: the answer given to each keyed request, stored in the
 * transaction of the change it answers, so a crash cannot keep one without the other.
 *
 * <p>{@link #claim} inserts the key first thing in the transaction. Its primary key serialises
 * requests with the same key: while one is in flight, another's insert waits on its row, then
 * either finds the committed answer (and replays it) or, if the first rolled back, claims the key
 * itself. So concurrent retries never make two orders. Stateless and thread-safe.
 */
final class IdempotencyKeys {

    /** How often a claim that found the key is retried when the key vanished before it was read. */
    private static final int CLAIM_ATTEMPTS = 3;

    private IdempotencyKeys() {
    }

    /**
     * Claims {@code request}'s key in {@code handle}'s transaction.
     *
     * @return empty when the key is new (the caller does the work, then calls {@link #record});
     *     otherwise the stored answer to the earlier request, to give again
     * @throws ApiError 422 when the key was used for a different request
     */
    static Optional<Reply> claim(Handle handle, IdempotentRequest request) {
        for (int attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
            // The placeholder answer is never seen: the row is only visible once record() has
            // replaced it and the transaction commits.
            int inserted = handle.createUpdate("INSERT INTO idempotency_keys (key, request_hash, response_code, "
                            + "response_body) VALUES (:key, :hash, 0, '') ON CONFLICT (key) DO NOTHING")
                    .bind("key", request.key())
                    .bind("hash", request.fingerprint())
                    .execute();
            if (inserted == 1) {
                return Optional.empty();
            }
            Optional<Stored> stored = handle.createQuery("SELECT request_hash, response_code, response_body "
                            + "FROM idempotency_keys WHERE key = :key")
                    .bind("key", request.key())
                    .map((rs, ctx) -> new Stored(rs.getString("request_hash"), rs.getInt("response_code"),
                            rs.getString("response_body")))
                    .findOne();
            if (stored.isPresent()) {
                if (!stored.get().requestHash().equals(request.fingerprint())) {
                    throw new ApiError(422, IdempotentRequest.HEADER + " was already used for a different request "
                            + "(method, path or body); use a new key for a new request");
                }
                return Optional.of(new Reply(stored.get().status(), stored.get().body(), true));
            }
        }
        throw new IllegalStateException("idempotency key neither inserted nor found after " + CLAIM_ATTEMPTS
                + " attempts");
    }

    /** Stores the answer to the request whose key this transaction {@linkplain #claim claimed}. */
    static void record(Handle handle, IdempotentRequest request, Reply reply) {
        int updated = handle.createUpdate("UPDATE idempotency_keys SET response_code = :status, "
                        + "response_body = :body WHERE key = :key")
                .bind("status", reply.status())
                .bind("body", reply.body())
                .bind("key", request.key())
                .execute();
        if (updated != 1) {
            throw new IllegalStateException("idempotency key was not claimed in this transaction");
        }
    }

    private record Stored(String requestHash, int status, String body) {
    }
}
