package io.outboxkit.relay.console;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** Times and spans as an operator reads them: {@code 3 min 12 s}, {@code 2026-11-26 15:00:01.123Z}. */
final class Durations {

    private static final DateTimeFormatter INSTANT =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private Durations() {
    }

    /** A span in its two largest units: {@code 850 ms}, {@code 42 s}, {@code 3 min 12 s}, {@code 2 h 5 min}, {@code 3 d 4 h}. */
    static String span(Duration span) {
        long millis = Math.max(0, span.toMillis());
        if (millis < 1_000) {
            return millis + " ms";
        }
        long seconds = millis / 1_000;
        if (seconds < 60) {
            return seconds + " s";
        }
        if (seconds < 3_600) {
            return seconds / 60 + " min " + seconds % 60 + " s";
        }
        if (seconds < 86_400) {
            return seconds / 3_600 + " h " + seconds % 3_600 / 60 + " min";
        }
        return seconds / 86_400 + " d " + seconds % 86_400 / 3_600 + " h";
    }

    /** An instant in UTC to the millisecond, or an empty string for null. */
    static String instant(Instant instant) {
        return instant == null ? "" : INSTANT.format(instant);
    }
}
