package io.outboxkit.core.internal;

import java.security.SecureRandom;
import java.util.UUID;

/**
 * Time-ordered UUIDs (RFC 9562, version 7): unique across processes, and increasing within one
 * process, which keeps the outbox's primary key index append-mostly.
 */
public final class UuidV7 {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static long lastMillis;
    private static long counter;

    private UuidV7() {
    }

    /** A new UUIDv7. Thread-safe. */
    public static UUID next() {
        long millis;
        long sequence;
        synchronized (UuidV7.class) {
            millis = System.currentTimeMillis();
            if (millis > lastMillis) {
                lastMillis = millis;
                counter = RANDOM.nextInt(1 << 11); // random start leaves room to count up within the millisecond
            } else {
                millis = lastMillis; // a clock step back must not reorder ids
                counter++;
                if (counter > 0xFFF) {
                    lastMillis++;
                    millis = lastMillis;
                    counter = 0;
                }
            }
            sequence = counter;
        }
        long high = (millis << 16) | 0x7000L | sequence;
        long low = (RANDOM.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(high, low);
    }
}
