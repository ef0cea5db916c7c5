package io.outboxkit.app;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The "since" of a requeue as a person gives it, to replay-cli and to the console alike: an ISO-8601
 * instant or offset time ({@code 2026-11-26T10:00:00Z}, {@code 2026-11-26T11:00:00+01:00}), or a
 * span before now ({@code 90s}, {@code 15m}, {@code 2h}, {@code 1d}) counted from the current
 * second. A time after now is refused: no message was written then, and a requeue that matched
 * nothing would look like one that found nothing to requeue.
 */
public final class SinceTime {

    private static final Pattern SPAN = Pattern.compile("(\\d{1,9})([smhd])");
    private static final int MAX_ECHO = 60;

    private SinceTime() {
    }

    /**
     * {@code text} as an instant, spans counted back from {@code now}.
     *
     * @throws IllegalArgumentException saying what was wrong and what works, quoting the text
     */
    public static Instant parse(String text, Instant now) {
        String trimmed = text.trim();
        Matcher span = SPAN.matcher(trimmed.toLowerCase(Locale.ROOT));
        if (span.matches()) {
            ChronoUnit unit = switch (span.group(2)) {
                case "s" -> ChronoUnit.SECONDS;
                case "m" -> ChronoUnit.MINUTES;
                case "h" -> ChronoUnit.HOURS;
                default -> ChronoUnit.DAYS;
            };
            return now.truncatedTo(ChronoUnit.SECONDS).minus(Duration.of(Long.parseLong(span.group(1)), unit));
        }
        Instant time;
        try {
            time = OffsetDateTime.parse(trimmed).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'" + shorten(text) + "' is not a time: give an ISO-8601 time like "
                    + "2026-11-26T10:00:00Z, or a span ago like 15m, 2h or 1d");
        }
        if (time.isAfter(now)) {
            throw new IllegalArgumentException("'" + shorten(text) + "' is in the future (now is "
                    + now.truncatedTo(ChronoUnit.SECONDS) + "): no message was written since then");
        }
        return time;
    }

    private static String shorten(String text) {
        return text.length() <= MAX_ECHO ? text : text.substring(0, MAX_ECHO) + "...";
    }
}
