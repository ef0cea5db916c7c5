package io.outboxkit.replay;

import io.outboxkit.app.SinceTime;
import java.time.Clock;
import java.time.Instant;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code --since}: a time as {@link SinceTime} reads it, on this machine's clock. */
final class SinceConverter implements ITypeConverter<Instant> {

    private final Clock clock;

    SinceConverter() {
        this(Clock.systemUTC());
    }

    SinceConverter(Clock clock) {
        this.clock = clock;
    }

    @Override
    public Instant convert(String value) {
        try {
            return SinceTime.parse(value, clock.instant());
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}
