package io.outboxkit.app;

/** A message envelope that cannot be accepted; the message says which field is wrong and how. */
public final class InvalidEnvelopeException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    InvalidEnvelopeException(String message) {
        super(message);
    }
}
