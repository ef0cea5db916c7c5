package io.outboxkit.core.spi;

import io.outboxkit.core.OutboxMessage;
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
     */
    void handle(Handle transaction, OutboxMessage message) throws Exception;
}
