package io.outboxkit.core;

/** Where a message stands in the outbox. */
public enum MessageStatus {
    /** Waiting for delivery: new, leased to a poller, or scheduled for a retry. */
    PENDING,
    /** Delivered; kept until retention removes it. */
    PUBLISHED,
    /** Given up on after the maximum attempts; stays until an operator requeues it. */
    DEAD
}
