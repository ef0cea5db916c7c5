package io.outboxkit.relay;

/** How the relay hands a claimed batch to the consumer ({@code DELIVERY}). */
public enum Delivery {
    /**
     * The whole batch in one request to {@code CONSUMER_URL + "/batch"}, which the consumer
     * processes in one transaction and answers with one result per message (the default).
     */
    BATCH,
    /** One request per message to {@code CONSUMER_URL}, up to {@code MAX_IN_FLIGHT} at once. */
    SINGLE
}
