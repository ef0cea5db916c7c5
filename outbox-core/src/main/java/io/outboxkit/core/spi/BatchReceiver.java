package io.outboxkit.core.spi;

import io.outboxkit.core.OutboxMessage;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.LoggerFactory;

/**
 * What a {@link MessageSource} hands each batch of messages to: the application's effect of them,
 * and (optionally) what it wants to know of the messages the source dead-letters.
 */
@FunctionalInterface
public interface BatchReceiver {

    /**
     * Applies a batch. Called by one thread at a time per source, in the order of each aggregate's
     * messages.
     *
     * @return the messages that failed, by id, with why: they are delivered again later; every
     *     other message of the batch counts as done and is acknowledged. A message in the map
     *     failed even when its value is null (its error then says the receiver gave no
     *     exception). Returning null, or throwing, fails the whole batch: every message of it is
     *     delivered again.
     */
    Map<UUID, ? extends Exception> receive(List<OutboxMessage> batch) throws Exception;

    /**
     * The source put a message in its dead-letter destination (the broker confirmed the copy there):
     * the consumer's counterpart of a DEAD outbox row, for a metric or an alert. Told once per
     * dead-lettering, on the source's receiving thread, after the fact; it must be quick and must
     * not block. The original's acknowledgement comes with or after it (RabbitMQ: before; Kafka:
     * with the partition's next commit; NATS: a term the server may not get): a source that dies
     * or loses the partition before then receives the message again, and may dead-letter, and
     * tell, it again. What it throws is logged and ignored: the message stays dead-lettered. By
     * default it does nothing.
     *
     * @param message the message the receiver failed {@code maxAttempts} times; null when the source
     *     could not read it as an outbox message (it was dead-lettered at once, never received)
     * @param error why, as the dead-letter copy's error says
     */
    default void deadLettered(OutboxMessage message, String error) {
    }

    /**
     * Tells {@code receiver} of a dead-lettered message ({@link #deadLettered}), logging and ignoring
     * what it throws, so that a failing hook never undoes nor repeats the source's dead-lettering:
     * what every source calls. Only a {@link VirtualMachineError} other than a
     * {@link StackOverflowError} passes through.
     */
    static void tellDeadLettered(BatchReceiver receiver, OutboxMessage message, String error) {
        try {
            receiver.deadLettered(message, error);
        } catch (Throwable e) {
            if (e instanceof VirtualMachineError && !(e instanceof StackOverflowError)) {
                throw e;
            }
            LoggerFactory.getLogger(BatchReceiver.class).warn("receiver {} failed on a dead-lettered message {} "
                    + "(ignored; the message stays dead-lettered): {}", receiver.getClass().getName(),
                    message == null ? "(unreadable)" : message.id(), e.toString());
        }
    }
}
