package io.outboxkit.core.internal;

import io.outboxkit.core.OutboxMessage;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;

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
 * one poller share it. Times are {@link System#nanoTime()} values, or a test's clock.
 */
final class ClaimFloor {

    /** How long a full batch must be claimed before its lowest position may become the floor. */
    static final Duration SETTLED = Duration.ofSeconds(1);
    /** The longest a claim with a floor may follow the last claim that read from the start. */
    static final Duration FULL_SCAN_EVERY = Duration.ofSeconds(10);
    /** The floor of a claim that reads from the start. */
    static final long NONE = Long.MIN_VALUE;

    /** A full batch: when its claim started, and its lowest position. */
    private record FullBatch(long claimedAt, long lowestSeq) {
    }

    /** Full batches claimed less than {@link #SETTLED} ago at the last look, oldest first. */
    private final ArrayDeque<FullBatch> settling = new ArrayDeque<>();
    /** The newest full batch claimed at least {@link #SETTLED} ago; null when none since the poller caught up. */
    private FullBatch settled;
    private boolean caughtUp = true;
    private long lastFromStart;

    ClaimFloor(long now) {
        this.lastFromStart = now;
    }

    /** Where a claim starting at {@code now} reads from: {@link #NONE} for the start of the pending index. */
    synchronized long next(long now) {
        long settledBefore = now - SETTLED.toNanos();
        while (!settling.isEmpty() && settling.peekFirst().claimedAt() <= settledBefore) {
            settled = settling.removeFirst();
        }
        if (caughtUp || settled == null || now - lastFromStart >= FULL_SCAN_EVERY.toNanos()) {
            lastFromStart = now;
            return NONE;
        }
        return settled.lowestSeq();
    }

    /** Records the claim that started at {@code startedAt} and came back with {@code batch}, in write order. */
    synchronized void claimed(long startedAt, List<OutboxMessage> batch, int batchSize) {
        caughtUp = batch.size() < batchSize;
        if (caughtUp) {
            settling.clear();
            settled = null;
        } else {
            settling.addLast(new FullBatch(startedAt, batch.get(0).sequence()));
        }
    }
}
