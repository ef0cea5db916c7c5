package io.outboxkit.consumer;

import java.util.Optional;
import java.util.UUID;

/** Strict UUID parsing: only the canonical 8-4-4-4-12 hex form is a UUID. */
final class Uuids {

    private Uuids() {
    }

    /** {@code text} as a UUID, or empty when it is not one in canonical form. */
    static Optional<UUID> parse(String text) {
        if (text == null || text.length() != 36) {
            return Optional.empty();
        }
        try {
            UUID parsed = UUID.fromString(text);
            return parsed.toString().equalsIgnoreCase(text) ? Optional.of(parsed) : Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
