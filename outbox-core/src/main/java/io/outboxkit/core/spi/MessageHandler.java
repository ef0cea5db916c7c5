package io.outboxkit.core.spi;

import io.outboxkit.core.OutboxMessage;
import java.util.List;
import org.jdbi.v3.core.Handle;

/**
 * A consumer's effect of one message, written through the given handle. Implemented by the
 * application and wrapped by {@link io.outboxkit.core.IdempotentHandler}, which runs it inside a
 * transaction together with the record that the message was processed.
 */
@FunctionalInterface
public interface MessageHandler {

    /**
     * Applies {@code message}. Every database write must go through {@code transaction}, so it
     * commits or rolls back with the processed-message record. Throwing rolls everything back.
     * A statement that fails aborts a PostgreSQL transaction: catching its exception and going on
     * does not undo that, and the message then fails as if the handler had thrown (use a
     * savepoint, or {@code ON CONFLICT}, around a statement that may fail).
     */
    void handle(Handle transaction, OutboxMessage message) throws Exception;

    /**
     * Applies a batch of messages, none of them processed before, in one transaction: the fast path
     * of {@link io.outboxkit.core.IdempotentHandler#handleAll}. Override it to apply a batch in a few
     * set-based statements instead of a few statements per message; the default calls
     * {@link #handle} for each message in list order.
     *
     * <p>Either every message's effect is written and the method returns, or it throws: then
     * its transaction is rolled back and each message is applied again, in a new transaction, on
     * its own with {@link #handle} (under a savepoint), so that a message that cannot be applied
     * fails alone.
     * An override must therefore leave the same effect as {@link #handle} called in list order.
     * A deadlock or serialization failure it throws rolls back and retries the whole transaction.
     */
    default void handleAll(Handle transaction, List<OutboxMessage> messages) throws Exception {
        for (OutboxMessage message : messages) {
            handle(transaction, message);
        }
    }
}
