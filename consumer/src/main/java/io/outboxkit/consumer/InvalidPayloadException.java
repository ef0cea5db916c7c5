package io.outboxkit.consumer;

/**
 * A message whose payload this consumer can never apply (a field missing or of the wrong kind).
 * Retrying cannot help: the relay's retries end with the message DEAD, for an operator to look at.
 */
final class InvalidPayloadException extends Exception {

    private static final long serialVersionUID = 1L;

    InvalidPayloadException(String message) {
        super(message);
    }
}
