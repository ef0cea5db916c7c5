package io.outboxkit.core.internal;

import java.security.SecureRandom;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Time-ordered UUIDs (RFC 9562, version 7): unique across processes, and increasing within one
 * process, which keeps the outbox's primary key index append-mostly.
 *
 * <p>Within a process every id has a stamp of its own (48 bits of milliseconds, then a 12-bit
 * counter), taken without a lock: a thread descheduled while it takes one holds up no other.
 * Across processes the 62 random bits set them apart. Those come from the thread's own generator,
 * mixed with a salt that each process draws once from {@link SecureRandom}, not from
 * {@code SecureRandom} per id, whose lock every writing thread would queue on: the ids are unique,
 * not secrets (a message's id is no token to guess).
 */
public final class UuidV7 {

    private static final UuidV7 PROCESS = new UuidV7(new SecureRandom().nextLong());

    private static final int COUNTER_BITS = 12;
    private static final long RANDOM_BITS = 0x3FFF_FFFF_FFFF_FFFFL;
    private static final long VARIANT = 0x8000_0000_0000_0000L;
    private static final long VERSION = 0x7000L;

    /** The last stamp given: milliseconds since the epoch, shifted left by the counter's 12 bits, plus the counter. */
    private final AtomicLong lastStamp = new AtomicLong();
    private final long salt;

    UuidV7(long salt) {
        this.salt = salt;
    }

    /** A new UUIDv7, greater than every one this process made before. Thread-safe. */
    public static UUID next() {
        return PROCESS.next(System.currentTimeMillis());
    }

    /** A new UUIDv7 of {@code nowMillis}, or just after the last one when that is not earlier (the clock stepped back). */
    UUID next(long nowMillis) {
        // Within a millisecond the counter counts up; past 4,096 ids, or after a step back of the
        // clock, the stamp runs ahead of the clock, so that ids never go back.
        long stamp = lastStamp.accumulateAndGet(nowMillis << COUNTER_BITS, (last, now) -> now > last ? now : last + 1);
        long high = ((stamp >>> COUNTER_BITS) << 16) | VERSION | (stamp & ((1 << COUNTER_BITS) - 1));
        long low = ((ThreadLocalRandom.current().nextLong() ^ salt) & RANDOM_BITS) | VARIANT;
        return new UUID(high, low);
    }
}
