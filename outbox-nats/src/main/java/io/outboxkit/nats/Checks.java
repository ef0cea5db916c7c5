package io.outboxkit.nats;

import io.outboxkit.core.InvalidOptionException;
import java.time.Duration;
import java.util.List;

/** The builders' checks of their options, each error naming the option and what it may be. */
final class Checks {

    private Checks() {
    }

    /** Checks the log name, a stream name and a subject prefix. */
    static void names(String name, String stream, String subjectPrefix) {
        if (name == null || name.isBlank() || name.length() > 200) {
            throw new InvalidOptionException("name", "name must be 1 to 200 characters, not blank");
        }
        Subjects.checkName("stream", stream);
        Subjects.checkPrefix("subjectPrefix", subjectPrefix);
    }

    /** Checks the options a publisher and a source share: the duplicate window and the connection's waits. */
    static void connection(Duration duplicateWindow, Duration connectTimeout, Duration reconnectWait) {
        between("duplicateWindow", duplicateWindow, Duration.ofMillis(100), Duration.ofDays(7));
        between("connectTimeout", connectTimeout, Duration.ofMillis(1), Duration.ofMinutes(5));
        between("reconnectWait", reconnectWait, Duration.ZERO, Duration.ofMinutes(5));
    }

    /** Checks the max age of a stream to create: zero (no limit), or at least a minute and the duplicate window. */
    static void maxAge(Duration maxAge, Duration duplicateWindow) {
        if (maxAge == null || maxAge.isNegative() || maxAge.compareTo(Duration.ofDays(3650)) > 0
                || (!maxAge.isZero() && maxAge.compareTo(Duration.ofMinutes(1)) < 0)) {
            throw new InvalidOptionException("maxAge", "maxAge must be 0 (keep every message for ever) or from "
                    + Duration.ofMinutes(1) + " to " + Duration.ofDays(3650) + ", not " + maxAge);
        }
        if (!maxAge.isZero() && maxAge.compareTo(duplicateWindow) < 0) {
            throw new InvalidOptionException(null, List.of("maxAge", "duplicateWindow"), "maxAge (" + maxAge
                    + ") must be at least duplicateWindow (" + duplicateWindow + "): the stream cannot drop a re-publish "
                    + "of a message it no longer remembers");
        }
    }

    /** Checks that {@code value} is between {@code min} and {@code max}, both included. */
    static Duration between(String option, Duration value, Duration min, Duration max) {
        if (value == null || value.compareTo(min) < 0 || value.compareTo(max) > 0) {
            throw new InvalidOptionException(option, option + " must be from " + min + " to " + max + ", not " + value);
        }
        return value;
    }

    /** Checks that {@code value} is between {@code min} and {@code max}, both included. */
    static int between(String option, int value, int min, int max) {
        if (value < min || value > max) {
            throw new InvalidOptionException(option, option + " must be from " + min + " to " + max + ", not " + value);
        }
        return value;
    }
}
