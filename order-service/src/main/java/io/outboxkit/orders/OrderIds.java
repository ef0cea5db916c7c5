package io.outboxkit.orders;

import java.nio.ByteBuffer;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.UUID;

/**
 * New orders' ids: random UUIDs (version 4) from a cryptographically strong generator, so that an
 * order's id, which its URL carries, cannot be guessed from another's. Each thread draws from a
 * generator of its own (DRBG, seeded by the system): {@link UUID#randomUUID()}'s generator is one
 * per process behind a lock, on which every request thread queued, and a thread descheduled while
 * holding it stalled the others for a time slice. Thread-safe.
 */
final class OrderIds {

    private static final ThreadLocal<SecureRandom> RANDOM = ThreadLocal.withInitial(OrderIds::generator);

    private OrderIds() {
    }

    /** A new random order id. */
    static UUID next() {
        byte[] bytes = new byte[16];
        RANDOM.get().nextBytes(bytes);
        ByteBuffer random = ByteBuffer.wrap(bytes);
        long high = (random.getLong() & ~0xF000L) | 0x4000L; // version 4
        long low = (random.getLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L; // RFC 9562's variant
        return new UUID(high, low);
    }

    private static SecureRandom generator() {
        try {
            return SecureRandom.getInstance("DRBG");
        } catch (NoSuchAlgorithmException e) {
            return new SecureRandom(); // a JDK without DRBG: the shared default, as UUID.randomUUID uses
        }
    }
}
