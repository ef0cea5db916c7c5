package io.outboxkit.core.spi;

/**
 * Receives outbox messages from a broker (the consumer's end of a {@link MessagePublisher}) and
 * hands them to the application in batches. Implemented by the broker modules
 * ({@code outbox-kafka}, {@code outbox-rabbitmq}, {@code outbox-nats}); an application starts one
 * with a {@link BatchReceiver}, usually {@code batch -> idempotentHandler.handleAll(batch).failures()}.
 *
 * <p>What every implementation guarantees: a message is acknowledged to the broker (offset
 * committed, ack sent) only after the receiver returned without listing it as failed, so a
 * crash anywhere before gives a redelivery, which an idempotent receiver skips. A message the
 * receiver failed is delivered again later; one that cannot be read as an outbox message, or that
 * keeps failing, goes to the source's dead-letter destination with its error, never silently
 * dropped, and the receiver is told of it once ({@link BatchReceiver#deadLettered}). Messages of one aggregate reach the receiver in the order they were published, a
 * failed one holding back the later ones of its aggregate until it succeeds or is dead-lettered.
 */
public interface MessageSource extends AutoCloseable {

    /**
     * Starts receiving on threads of the source's own and hands each batch to {@code receiver}.
     *
     * @throws IllegalStateException when already started or closed
     */
    void start(BatchReceiver receiver);

    /** Whether the source is connected to its broker and receiving (for a health check). */
    boolean isConnected();

    /**
     * Whether the source's receiving thread lives, for a liveness check: true while it receives and
     * while it waits for a broker that does not answer (it reconnects by design), and before
     * {@link #start} and after {@link #close()}; false once its thread ended on what it does not
     * survive (an {@link Error} from the receiver, say), when only a restart brings it back. Asks
     * nothing of the broker. The default, for a source that cannot tell, is true.
     */
    default boolean isAlive() {
        return true;
    }

    /**
     * Stops receiving: the batch in the receiver's hands is finished and acknowledged first; what
     * was not acknowledged is redelivered to the next consumer. Calling it again does nothing, but
     * a close called while another is under way (an application context's stop and a JVM shutdown
     * hook, say) returns only once that one has ended, so that its caller too may exit or close the
     * pool next.
     */
    @Override
    void close();
}
