package io.outboxkit.core;

import java.util.UUID;

/**
 * Thrown by {@link IdempotentHandler} when the wrapped handler failed. Its transaction was rolled
 * back: neither the handler's effect nor the processed-message record remains, so a redelivery
 * of the same message is processed afresh.
 */
public final class MessageHandlingException extends OutboxException {

    private static final long serialVersionUID = 1L;
    private final UUID messageId;

    MessageHandlingException(UUID messageId, String message, Throwable cause) {
        super(message, cause);
        this.messageId = messageId;
    }

    /** The id of the message whose handling failed. */
    public UUID messageId() {
        return messageId;
    }
}
