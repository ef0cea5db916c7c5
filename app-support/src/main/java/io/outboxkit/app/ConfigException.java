package io.outboxkit.app;

/** A setting is missing or wrong; the message names it and says what is expected. */
public final class ConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** A configuration error with a message a person can act on. */
    public ConfigException(String message) {
        super(message);
    }

    /** A configuration error with a message a person can act on, and what revealed it (for a debug log). */
    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
