package io.outboxkit.replay;

/**
 * What the consumer answered to one delivery.
 *
 * @param kind       how the answer reads
 * @param httpStatus the HTTP status code
 * @param detail     the consumer's error, or its body when the answer was not understood; may be empty
 */
record Delivery(Kind kind, int httpStatus, String detail) {

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
