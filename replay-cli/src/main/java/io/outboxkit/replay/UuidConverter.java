package io.outboxkit.replay;

import io.outboxkit.app.Uuids;
import java.util.UUID;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** A message id: a UUID in its canonical form. */
final class UuidConverter implements ITypeConverter<UUID> {

    @Override
    public UUID convert(String value) {
        return Uuids.parse(value.trim()).orElseThrow(() -> new TypeConversionException("'" + value
                + "' is not a message id (a UUID like 0193a5e2-7c3f-7b1e-9f00-1234567890ab)"));
    }
}
