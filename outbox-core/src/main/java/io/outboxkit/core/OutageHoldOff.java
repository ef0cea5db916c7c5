package io.outboxkit.core;

import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.NotSentException;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.TimeUnit;

/**
 * Whether a poller's workers hold off claiming because the receiving side looks down, shared by
 * all of them: each worker's own wait after its failed batch is not enough, as another worker would
 * claim the next batch meanwhile, and so on through a backlog.
 *
 * <p>The rule: a full batch (as many messages as its claim could take: a backlog is waiting) that
 * failed whole, one of whose failures says the receiver was not reached or did not answer
 * ({@link FailureReason#UNAVAILABLE} or {@link FailureReason#TIMEOUT}; messages the publisher
 * reported not sent say nothing of it), holds every worker off for a poll interval from its
 * outcome, unless a batch delivered something since it was claimed (then it was slow, not the
 * receiver down). From then the receiver counts as down until a batch delivers something. A smaller
 * batch (at low traffic, a poison message or two) or one the receiver refused whole (it answered:
 * unroutable, no such topic, a 4xx) holds no worker off.
 *
 * <p>Times are {@link System#nanoTime()} readings, passed in so that the rule is testable without a
 * clock. Thread-safe.
 */
final class OutageHoldOff {

    private final long intervalNanos;
    /** Batches that delivered something so far, counted as the publisher reports them. */
    private long deliveringBatches;
    private boolean receiverDown;
    /** Before when no worker claims, while the receiver is down. */
    private long noClaimBeforeNanos;

    OutageHoldOff(Duration pollInterval) {
        this.intervalNanos = pollInterval.toNanos();
    }

    /** Read before a claim, and handed back with its batch's outcome to {@link #failedWhole}. */
    synchronized long beforeClaim() {
        return deliveringBatches;
    }

    /** A batch delivered something: the receiver is up. */
    synchronized void delivered() {
        receiverDown = false;
        deliveringBatches++;
    }

    /**
     * A batch failed whole at {@code nowNanos}: it holds every worker off as the rule says.
     *
     * @param full        whether it held as many messages as its claim could take
     * @param failures    the failures of its messages
     * @param beforeClaim what {@link #beforeClaim()} said before it was claimed
     */
    synchronized void failedWhole(boolean full, Collection<Exception> failures, long beforeClaim, long nowNanos) {
        if (full && deliveringBatches == beforeClaim && unreachable(failures)) {
            long until = nowNanos + intervalNanos;
            // A worker that read the clock earlier but took the lock later never shortens a later hold-off.
            if (!receiverDown || until - noClaimBeforeNanos > 0) {
                noClaimBeforeNanos = until;
            }
            receiverDown = true;
        }
    }

    /**
     * One failure that says the receiver was not reached or did not answer is enough: a connection
     * lost mid-batch fails the messages before it otherwise, and holding off wrongly costs a poll
     * interval of latency while not holding off costs attempts toward DEAD.
     */
    private static boolean unreachable(Collection<Exception> failures) {
        return failures.stream()
                .filter(f -> !(f instanceof NotSentException))
                .map(FailureReason::of)
                .anyMatch(r -> r == FailureReason.UNAVAILABLE || r == FailureReason.TIMEOUT);
    }

    /** Whether the receiver counts as down: since a batch held every worker off, until one delivers something. */
    synchronized boolean receiverDown() {
        return receiverDown;
    }

    /** How long from {@code nowNanos} workers still hold off claiming, in ms rounded up; 0 when they may claim. */
    synchronized long holdOffMillis(long nowNanos) {
        long remaining = noClaimBeforeNanos - nowNanos;
        return !receiverDown || remaining <= 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(remaining) + 1;
    }
}
