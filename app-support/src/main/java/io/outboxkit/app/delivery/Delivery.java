package io.outboxkit.app.delivery;

/** How a claimed batch goes to the consumer (the relay's {@code DELIVERY}). */
public enum Delivery {
    /**
     * The whole batch in one request to {@code CONSUMER_URL + "/batch"}, which the consumer
     * processes in one transaction and answers with one result per message (the default).
     */
    BATCH,
    /** One request per message to {@code CONSUMER_URL}, several at once. */
    SINGLE
}
