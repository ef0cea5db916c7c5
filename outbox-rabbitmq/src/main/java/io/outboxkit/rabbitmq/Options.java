package io.outboxkit.rabbitmq;

import io.outboxkit.core.InvalidOptionException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** The checks of the builders' options, each naming the option and what it allows. */
final class Options {

    /** RabbitMQ's own ceiling on {@code max_message_size}: 512 MiB. */
    static final int RABBITMQ_MAX_MESSAGE_BYTES = 512 * 1024 * 1024;

    private Options() {
    }

    /** An exchange's or queue's name: 1 to 255 bytes of UTF-8, not starting with {@code amq.}. */
    static void requireName(String option, String name) {
        if (name == null || name.isBlank()) {
            throw new InvalidOptionException(option, option + " must be a name of 1 to 255 bytes, not blank");
        }
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > AmqpMessages.MAX_SHORT_STRING) {
            throw new InvalidOptionException(option, option + " must be at most 255 bytes of UTF-8, not " + bytes);
        }
        if (name.startsWith("amq.")) {
            throw new InvalidOptionException(option, option + " must not start with 'amq.' (RabbitMQ keeps those names for "
                    + "itself): " + name);
        }
    }

    /** A duration from {@code min} to {@code max}. */
    static void requireBetween(String option, Duration value, Duration min, Duration max) {
        if (value == null || value.compareTo(min) < 0 || value.compareTo(max) > 0) {
            throw new InvalidOptionException(option, option + " must be " + text(min) + " to " + text(max) + ", not "
                    + (value == null ? "null" : text(value)));
        }
    }

    /** A whole number from {@code min} to {@code max}. */
    static void requireBetween(String option, int value, int min, int max) {
        if (value < min || value > max) {
            throw new InvalidOptionException(option, option + " must be " + min + " to " + max + ", not " + value);
        }
    }

    private static String text(Duration duration) {
        return duration.toMillis() + " ms";
    }
}
