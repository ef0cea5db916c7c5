package io.outboxkit.core.internal;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with jitter: attempt n waits about {@code initial * 2^(n-1)}, capped at
 * {@code max}, less a random share of up to {@code jitter}, so failed messages do not retry in step.
 */
public record Backoff(Duration initial, Duration max, double jitter) {

    /** The delay before the retry that follows failed attempt number {@code attempts} (1-based). */
    public Duration delayAfter(int attempts) {
        long capMillis = max.toMillis();
        long exact = capMillis;
        int doublings = Math.max(0, attempts - 1);
        long initialMillis = initial.toMillis();
        // Shift only while it cannot overflow; beyond that the cap applies anyway.
        if (doublings < Long.numberOfLeadingZeros(initialMillis) - 1) {
            exact = Math.min(capMillis, initialMillis << doublings);
        }
        long jitterMillis = (long) (exact * jitter * ThreadLocalRandom.current().nextDouble());
        return Duration.ofMillis(exact - jitterMillis);
    }
}
