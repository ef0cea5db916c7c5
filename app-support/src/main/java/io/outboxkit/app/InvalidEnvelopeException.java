package io.outboxkit.app;

import java.util.Optional;
import java.util.UUID;

/**
 * A message envelope that cannot be accepted; the message says which field is wrong and how, and
 * {@link #messageId()} gives the envelope's id when that much of it could be read.
 */
public final class InvalidEnvelopeException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final UUID messageId;

    InvalidEnvelopeException(String message) {
        this(message, null);
    }

    InvalidEnvelopeException(String message, UUID messageId) {
        super(message);
        this.messageId = messageId;
    }

    /**
     * The id of the envelope refused, when its {@code id} field is a valid UUID (so that a batch can
     * fail this one message and keep the others); empty when the id itself is missing or wrong, or
     * the body is not JSON.
     */
    public Optional<UUID> messageId() {
        return Optional.ofNullable(messageId);
    }
}
