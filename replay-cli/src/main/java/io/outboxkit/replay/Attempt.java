package io.outboxkit.replay;

import io.outboxkit.app.delivery.ConsumerAnswer;
import io.outboxkit.app.delivery.DeliveryProtocol;

/**
 * What the consumer answered to one delivery of {@code duplicate}.
 *
 * @param kind       how the answer reads
 * @param httpStatus the HTTP status code
 * @param detail     the consumer's error, or its body when the answer was not understood; may be empty
 */
record Attempt(Kind kind, int httpStatus, String detail) {

    private static final int MAX_DETAIL = 200;

    /** How an answer reads. */
    enum Kind {
        /** 2xx {"status":"processed"}: the consumer applied the message. */
        PROCESSED,
        /** 2xx {"status":"duplicate"}: the consumer had already processed it and skipped it. */
        DUPLICATE,
        /** Another 2xx answer. */
        OTHER,
        /** 4xx or 5xx. */
        REJECTED
    }

    /** How {@code answer} reads. */
    static Attempt of(ConsumerAnswer answer) {
        if (answer.isSuccess()) {
            String reported = answer.reportedStatus().orElse("");
            if (DeliveryProtocol.PROCESSED.equals(reported)) {
                return new Attempt(Kind.PROCESSED, answer.status(), "");
            }
            if (DeliveryProtocol.DUPLICATE.equals(reported)) {
                return new Attempt(Kind.DUPLICATE, answer.status(), "");
            }
            return new Attempt(Kind.OTHER, answer.status(), EntryTable.truncate(answer.body(), MAX_DETAIL));
        }
        return new Attempt(Kind.REJECTED, answer.status(), EntryTable.truncate(answer.error().orElse(answer.body()),
                MAX_DETAIL));
    }

    /** How {@code duplicate} prints it, e.g. {@code duplicate (skipped)}. */
    String describe() {
        switch (kind) {
            case PROCESSED:
                return "processed";
            case DUPLICATE:
                return "duplicate (skipped)";
            case OTHER:
                return "unexpected answer (HTTP " + httpStatus + ": " + detail + ")";
            default:
                return "rejected (HTTP " + httpStatus + (detail.isEmpty() ? "" : ": " + detail) + ")";
        }
    }
}
