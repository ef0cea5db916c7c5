package io.outboxkit.replay;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A point in time: an ISO-8601 instant or offset time ({@code 2026-11-26T10:00:00Z},
 * {@code 2026-11-26T11:00:00+01:00}), or a span before now ({@code 90s}, {@code 15m},
 * {@code 2h}, {@code 1d}), counted from the current second.
 */
final class SinceConverter implements ITypeConverter<Instant> {

    private static final Pattern SPAN = Pattern.compile("(\\d{1,9})([smhd])");

    private final Clock clock;

    SinceConverter() {
        this(Clock.systemUTC());
    }

    SinceConverter(Clock clock) {
        this.clock = clock;
    }

    @Override
    public Instant convert(String value) {
        String text = value.trim();
        Matcher span = SPAN.matcher(text.toLowerCase(Locale.ROOT));
        if (span.matches()) {
            return clock.instant().truncatedTo(ChronoUnit.SECONDS)
                    .minus(duration(Long.parseLong(span.group(1)), span.group(2)));
        }
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            throw new TypeConversionException("'" + value + "' is not a time: give an ISO-8601 time like "
                    + "2026-11-26T10:00:00Z, or a span ago like 15m, 2h or 1d");
        }
    }

    private static Duration duration(long amount, String unit) {
        switch (unit) {
            case "s":
                return Duration.ofSeconds(amount);
            case "m":
                return Duration.ofMinutes(amount);
            case "h":
                return Duration.ofHours(amount);
            default:
                return Duration.ofDays(amount);
        }
    }
}
