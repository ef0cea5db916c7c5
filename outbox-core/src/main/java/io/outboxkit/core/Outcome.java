package io.outboxkit.core;

/** What {@link IdempotentHandler} did with a message. */
public enum Outcome {
    /** First delivery: the handler ran and its effect committed with the processed-message record. */
    PROCESSED,
    /** Already processed by this consumer: the handler did not run and nothing changed. */
    DUPLICATE
}
