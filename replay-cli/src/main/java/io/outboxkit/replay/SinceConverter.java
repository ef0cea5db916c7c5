package io.outboxkit.replay;

import io.outboxkit.app.SinceTime;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code --since}: the text as {@link SinceTime} reads it. It becomes an instant only once the
 * database is open, on the database's clock: this machine's may be minutes off.
 */
final class SinceConverter implements ITypeConverter<SinceTime> {

    @Override
    public SinceTime convert(String value) {
        try {
            return SinceTime.parse(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}
