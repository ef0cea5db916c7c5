package io.outboxkit.core.spi;

import io.outboxkit.core.OutboxMessage;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Told what the outbox does, as it does it: what a poller claims, delivers, fails and gives up on,
 * and what an idempotent handler processes, skips and fails. Metrics (the
 * {@code outbox-micrometer} module), a console or a test implement the methods they need; every
 * method does nothing by default. Given to {@link io.outboxkit.core.OutboxPoller.Builder#addListener}
 * and {@link io.outboxkit.core.IdempotentHandler#withListener}.
 *
 * <p>Called on the poller's and the handler's own threads, several at once, after the fact (a
 * delivery is reported once its outcome is recorded, a processed message once its transaction
 * committed): an implementation must be thread-safe and quick, and must not block. One that throws
 * is logged and ignored: it never changes what happens to a message.
 */
public interface OutboxListener {

    /** The listener that does nothing. */
    OutboxListener NONE = new OutboxListener() {
    };

    /**
     * A poller claimed a batch of {@code messages} (1 or more; an empty claim is not reported) in
     * one statement that took {@code duration}.
     */
    default void claimed(int messages, Duration duration) {
    }

    /**
     * {@code message} was delivered and is recorded as such; {@code latency} runs from its
     * {@code createdAt} (the start of the transaction that wrote it, on the database's clock) to
     * the publisher's confirmation (on this machine's clock).
     */
    default void delivered(OutboxMessage message, Duration latency) {
    }

    /**
     * The {@code messages} of one batch (1 or more) were delivered and are recorded as such, the
     * publisher having confirmed them by {@code confirmed} (this machine's clock). A poller reports
     * its deliveries this way, once per batch. By default it tells {@link #delivered} for each
     * message, its latency running from the message's {@code createdAt} to {@code confirmed}; a
     * listener that counts or times every message may override it to do once per batch what it
     * can (one counter increment, one clock reading) and must then count each message once.
     */
    default void deliveredBatch(List<OutboxMessage> messages, Instant confirmed) {
        for (OutboxMessage message : messages) {
            delivered(message, Duration.between(message.createdAt(), confirmed));
        }
    }

    /**
     * A delivery attempt of {@code message} failed (it is retried later, or is DEAD after its last
     * attempt: then {@link #dead} follows). {@code error} is what the publisher reported.
     */
    default void failed(OutboxMessage message, FailureReason reason, Exception error) {
    }

    /** {@code message} failed its last attempt and is now DEAD, until an operator requeues it. */
    default void dead(OutboxMessage message) {
    }

    /** A poll cycle failed on the database (or in a publisher gone wrong); it is retried after the poll interval. */
    default void pollFailed(Exception error) {
    }

    /**
     * {@code consumer} applied {@code message} now (its transaction committed); {@code lag} runs
     * from the message's {@code createdAt} to that commit.
     */
    default void processed(String consumer, OutboxMessage message, Duration lag) {
    }

    /** {@code consumer} had applied {@code message} before and skipped it now. */
    default void duplicate(String consumer, OutboxMessage message) {
    }

    /**
     * {@code consumer} could not apply {@code message}: its handler threw, or the database failed.
     * Nothing of it was committed; it is delivered again later.
     */
    default void handlingFailed(String consumer, OutboxMessage message, Exception error) {
    }
}
