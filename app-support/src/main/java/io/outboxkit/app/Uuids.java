package io.outboxkit.app;

import java.nio.ByteBuffer;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.UUID;

/**
 * UUIDs of the services. Strict parsing for ids a client sends: only the canonical 8-4-4-4-12 form
 * of ASCII hex digits, in either case ({@link UUID#fromString} alone also takes short groups
 * ({@code 1-1-1-1-1}), signs and non-ASCII digits, which would let two texts name one id). And
 * random ids for the entities a service creates.
 */
public final class Uuids {

    /** 8-4-4-4-12 hex digits. */
    private static final int CANONICAL_LENGTH = 36;
    private static final ThreadLocal<RandomBytes> RANDOM = ThreadLocal.withInitial(RandomBytes::new);

    private Uuids() {
    }

    /** {@code text} as a UUID, or empty when it is null or not a UUID in canonical form. Thread-safe. */
    public static Optional<UUID> parse(String text) {
        if (text == null || text.length() != CANONICAL_LENGTH) {
            return Optional.empty();
        }
        long high = 0;
        long low = 0;
        for (int i = 0; i < CANONICAL_LENGTH; i++) {
            char c = text.charAt(i);
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                if (c != '-') {
                    return Optional.empty();
                }
                continue;
            }
            int digit = hexDigit(c);
            if (digit < 0) {
                return Optional.empty();
            }
            if (i < 18) {
                high = high << 4 | digit;
            } else {
                low = low << 4 | digit;
            }
        }
        return Optional.of(new UUID(high, low));
    }

    /** The value of an ASCII hex digit in either case, or -1. */
    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    /**
     * A new random UUID (version 4) from a cryptographically strong generator, so that an id that a
     * URL carries cannot be guessed from another. Each thread draws from a generator of its own
     * (DRBG, seeded by the system): {@link UUID#randomUUID()}'s generator is one per process behind
     * a lock, on which every request thread queued, and a thread descheduled while holding it
     * stalled the others for a time slice. Thread-safe.
     */
    public static UUID random() {
        RandomBytes random = RANDOM.get();
        long high = (random.nextLong() & ~0xF000L) | 0x4000L; // version 4
        long low = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L; // RFC 9562's variant
        return new UUID(high, low);
    }

    /**
     * One thread's strong random bytes, drawn from its generator a block at a time: each draw of a
     * DRBG pays for updating its state (several hashes) whatever its length, which for 16 bytes
     * cost more than producing them. Not thread-safe.
     */
    private static final class RandomBytes {

        private static final int BLOCK = 512;

        private final SecureRandom generator = generator();
        private final ByteBuffer block = ByteBuffer.allocate(BLOCK).position(BLOCK);

        long nextLong() {
            if (!block.hasRemaining()) {
                generator.nextBytes(block.array());
                block.clear();
            }
            return block.getLong();
        }

        private static SecureRandom generator() {
            try {
                return SecureRandom.getInstance("DRBG");
            } catch (NoSuchAlgorithmException e) {
                return new SecureRandom(); // a JDK without DRBG: the shared default, as UUID.randomUUID uses
            }
        }
    }
}
