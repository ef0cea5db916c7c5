package io.outboxkit.devkafka;

/**
 * The development Kafka broker cannot start; the message is one line a person can act on, and
 * {@link #exitStatus()} is what the process exits with.
 */
public final class DevKafkaException extends RuntimeException {

    /** The exit status of every failed start: a bad setting, a port in use, a broker that did not come up. */
    public static final int EXIT_START_FAILED = 2;

    private static final long serialVersionUID = 1L;

    DevKafkaException(String message) {
        super(message);
    }

    DevKafkaException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The process exit status this failure calls for. */
    public int exitStatus() {
        return EXIT_START_FAILED;
    }
}
