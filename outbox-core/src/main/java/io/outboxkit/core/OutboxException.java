package io.outboxkit.core;

/** The root of every exception outbox-core throws; its message says what was being attempted. */
public class OutboxException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** An exception with a message a person can act on. */
    public OutboxException(String message) {
        super(message);
    }

    /** An exception with a message a person can act on, and its cause. */
    public OutboxException(String message, Throwable cause) {
        super(message, cause);
    }
}
