package io.outboxkit.app;

import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Strict UUID parsing for ids a client sends: only the canonical 8-4-4-4-12 form of ASCII hex
 * digits, in either case. {@link UUID#fromString} alone also takes short groups ({@code 1-1-1-1-1}),
 * signs and non-ASCII digits, which would let two texts name one id.
 */
public final class Uuids {

    private static final Pattern CANONICAL = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private Uuids() {
    }

    /** {@code text} as a UUID, or empty when it is null or not a UUID in canonical form. Thread-safe. */
    public static Optional<UUID> parse(String text) {
        if (text == null || !CANONICAL.matcher(text).matches()) {
            return Optional.empty();
        }
        return Optional.of(UUID.fromString(text));
    }
}
