package io.outboxkit.replay;

import java.util.UUID;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** A message id: a UUID in its canonical form. */
final class UuidConverter implements ITypeConverter<UUID> {

    @Override
    public UUID convert(String value) {
        try {
            UUID id = UUID.fromString(value.trim());
            if (id.toString().equalsIgnoreCase(value.trim())) {
                return id;
            }
        } catch (IllegalArgumentException e) {
            // reported below
        }
        throw new TypeConversionException("'" + value + "' is not a message id (a UUID like "
                + "0193a5e2-7c3f-7b1e-9f00-1234567890ab)");
    }
}
