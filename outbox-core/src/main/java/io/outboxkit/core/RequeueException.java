package io.outboxkit.core;

/**
 * A bulk requeue of {@link OutboxAdmin} that stopped before its end: a batch failed (a lock held
 * too long, a deadlock that recurred, its statement timeout, the database gone) or
 * {@link OutboxAdmin#cancelRequeues} stopped it. The batches before the failed one are committed:
 * {@link #requeued()} messages, every selected message up to write position {@link #resumeAfter()};
 * none after it was requeued by this call. In the caller's transaction (see
 * {@link OutboxAdmin#requeueDead}) the caller must roll that transaction back, the batches
 * requeued in it with it (a failed statement has aborted it; a cancel between batches has not, but
 * the earlier batches are in it): {@link #requeued()} is 0, {@link #resumeAfter()} where the call
 * began.
 */
public final class RequeueException extends OutboxException {

    private static final long serialVersionUID = 1L;

    private final int requeued;
    private final long resumeAfter;

    RequeueException(String message, int requeued, long resumeAfter, Throwable cause) {
        super(message, cause);
        this.requeued = requeued;
        this.resumeAfter = resumeAfter;
    }

    /** How many messages the committed batches requeued before it stopped; 0 when the first batch failed. */
    public int requeued() {
        return requeued;
    }

    /**
     * The write position ({@link OutboxMessage#sequence()}) up to which every selected message was
     * requeued: {@link OutboxAdmin#requeueSince(java.time.Instant, long)} with it requeues the rest
     * and none of these again.
     */
    public long resumeAfter() {
        return resumeAfter;
    }
}
