package io.outboxkit.devpostgres;

/**
 * The development PostgreSQL cannot start; the message is one line a person can act on, and
 * {@link #exitStatus()} is what the process exits with.
 */
public final class DevPostgresException extends RuntimeException {

    /** The exit status of a bad {@code PORT} or {@code DATA_DIR}, or a port already in use. */
    public static final int EXIT_BAD_CONFIG = 2;
    /** The exit status of any other failed start. */
    public static final int EXIT_START_FAILED = 1;

    private static final long serialVersionUID = 1L;

    private final int exitStatus;

    DevPostgresException(String message, int exitStatus) {
        super(message);
        this.exitStatus = exitStatus;
    }

    DevPostgresException(String message, int exitStatus, Throwable cause) {
        super(message, cause);
        this.exitStatus = exitStatus;
    }

    /** The process exit status this failure calls for. */
    public int exitStatus() {
        return exitStatus;
    }
}
