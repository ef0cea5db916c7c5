package io.outboxkit.core.internal;

import io.outboxkit.core.OutboxMessage;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The lowest write position ({@code seq}) a claim needs to read from, so that a poller working
 * through a backlog does not walk, at every claim, past the index entries of every message it has
 * delivered since the outbox was last vacuumed (each delivery leaves one in the pending index).
 *
 * <p>While claims come back full, a claim starts from the lowest position of a full batch claimed
 * at least {@link #SETTLED} ago. A message below that position which is pending now was skipped
 * by that claim and has stayed undeliverable for longer than {@link #SETTLED} since (held behind
 * an earlier message of its aggregate, waiting for a retry, leased by another poller), or was
 * written by a transaction still open {@link #SETTLED} after a later message committed. Every
 * such message is still claimed: by the claim that reads from the start, which comes at least
 * every {@link #FULL_SCAN_EVERY}, and always once a claim comes back short of a full batch (the
 * poller has caught up, so every claim reads from the start again). Order per aggregate does not
 * depend on it: the ordering check reads the aggregate's own index. Thread-safe: the workers of
 * one poller share it.
 */
final class ClaimFloor {

    /** How long a full batch must be claimed before its lowest position may become the floor. */
    static final Duration SETTLED = Duration.ofSeconds(1);
    /** The longest a claim with a floor may follow the last claim that read from the start. */
    static final Duration FULL_SCAN_EVERY = Duration.ofSeconds(10);
    /** The floor of a claim that reads from the start. */
    static final long NONE = Long.MIN_VALUE;

    private final LongSupplier nanoClock;
    /** Full batches not yet settled, oldest first, and the newest settled one at the head: {claimed at, lowest seq}. */
    private final ArrayDeque<long[]> fullBatches = new ArrayDeque<>();
    private boolean caughtUp = true;
    private long lastFromStart;

    ClaimFloor(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
        this.lastFromStart = nanoClock.getAsLong();
    }

    /** The time a claim starts, to hand back to {@link #claimed}. */
    long now() {
        return nanoClock.getAsLong();
    }

    /** Where the claim starting now reads from: {@link #NONE} for the start of the pending index. */
    synchronized long next() {
        long now = nanoClock.getAsLong();
        if (caughtUp || now - lastFromStart >= FULL_SCAN_EVERY.toNanos()) {
            lastFromStart = now;
            return NONE;
        }
        long settledBefore = now - SETTLED.toNanos();
        while (fullBatches.size() > 1 && secondClaimedAt() <= settledBefore) {
            fullBatches.removeFirst();
        }
        long[] oldest = fullBatches.peekFirst();
        if (oldest == null || oldest[0] > settledBefore) {
            lastFromStart = now;
            return NONE;
        }
        return oldest[1];
    }

    /** Records the claim that started at {@code startedAt} and came back with {@code batch}, in write order. */
    synchronized void claimed(long startedAt, List<OutboxMessage> batch, int batchSize) {
        caughtUp = batch.size() < batchSize;
        if (caughtUp) {
            fullBatches.clear();
        } else {
            fullBatches.addLast(new long[] {startedAt, batch.get(0).sequence()});
        }
    }

    private long secondClaimedAt() {
        var it = fullBatches.iterator();
        it.next();
        return it.next()[0];
    }
}
