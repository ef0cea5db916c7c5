package io.outboxkit.app;

import io.outboxkit.core.spi.Texts;
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
 * second. {@link #parse} reads the text; {@link #at} makes it an instant against the database's
 * current time, because a message's {@code created_at} is stamped by the database's clock: counted on
 * a machine whose clock is a few minutes ahead, "15m" would leave out the messages written in those
 * minutes, and on one behind, a write time the console showed would look like the future. A time
 * after now is refused: no message was written then, and a requeue that matched nothing would look
 * like one that found nothing to requeue.
 */
public final class SinceTime {

    private static final Pattern SPAN = Pattern.compile("(\\d{1,9})([smhd])");
    private static final int MAX_ECHO = 60;

    private final String text;
    /** How far before now, or null for an instant. */
    private final Duration span;
    private final Instant instant;

    private SinceTime(String text, Duration span, Instant instant) {
        this.text = text;
        this.span = span;
        this.instant = instant;
    }

    /**
     * {@code text} read as a time or a span ago; no clock is read.
     *
     * @throws IllegalArgumentException saying what was wrong and what works, quoting the text
     */
    public static SinceTime parse(String text) {
        String trimmed = text.trim();
        Matcher span = SPAN.matcher(trimmed.toLowerCase(Locale.ROOT));
        if (span.matches()) {
            ChronoUnit unit = switch (span.group(2)) {
                case "s" -> ChronoUnit.SECONDS;
                case "m" -> ChronoUnit.MINUTES;
                case "h" -> ChronoUnit.HOURS;
                default -> ChronoUnit.DAYS;
            };
            return new SinceTime(text, Duration.of(Long.parseLong(span.group(1)), unit), null);
        }
        try {
            return new SinceTime(text, null, OffsetDateTime.parse(trimmed).toInstant());
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'" + shorten(text) + "' is not a time: give an ISO-8601 time like "
                    + "2026-11-26T10:00:00Z, or a span ago like 15m, 2h or 1d");
        }
    }

    /**
     * This time as an instant: a span counted back from {@code now}'s second, a time as it is.
     *
     * @param now the database's current time, whose clock stamps {@code created_at}
     * @throws IllegalArgumentException when the time is after {@code now}, saying so with both
     */
    public Instant at(Instant now) {
        if (span != null) {
            return now.truncatedTo(ChronoUnit.SECONDS).minus(span);
        }
        if (instant.isAfter(now)) {
            throw new IllegalArgumentException("'" + shorten(text) + "' is in the future (the database's time is "
                    + now.truncatedTo(ChronoUnit.SECONDS) + "): no message was written since then");
        }
        return instant;
    }

    /** The text as given. */
    @Override
    public String toString() {
        return text;
    }

    private static String shorten(String text) {
        return Texts.abbreviate(text, MAX_ECHO);
    }
}
