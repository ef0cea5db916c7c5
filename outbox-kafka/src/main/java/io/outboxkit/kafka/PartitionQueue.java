package io.outboxkit.kafka;

import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NavigableSet;
import java.util.TreeSet;

/**
 * The records of one partition that were polled and are not done yet, in offset order, and the
 * offset up to which everything is done (the one to commit). Confined to the source's thread.
 *
 * <p>It also keeps the offsets of the records dead-lettered beyond that offset, those read from
 * the partition's committed metadata included, until the commit passes them: a record among them
 * is done, and is skipped when it is polled again.
 */
final class PartitionQueue {

    private final Map<Long, SourceRecord> pending = new LinkedHashMap<>();
    private final NavigableSet<Long> deadLettered;
    /** Records a queue of the partition before this one had failed, by offset: polled again, they go on from there. */
    private final Map<Long, SourceRecord> failedBefore = new HashMap<>();
    private long nextOffset = -1;

    /** A queue that skips the records at {@code deadLettered} (read from the partition's committed metadata). */
    PartitionQueue(NavigableSet<Long> deadLettered) {
        this.deadLettered = new TreeSet<>(deadLettered);
    }

    PartitionQueue() {
        this(new TreeSet<>());
    }

    /** Queues {@code record}; false when it was dead-lettered before (it is done, and skipped). */
    boolean add(SourceRecord record) {
        long offset = record.record.offset();
        nextOffset = offset + 1;
        if (deadLettered.contains(offset)) {
            return false;
        }
        SourceRecord before = failedBefore.remove(offset);
        if (before != null) {
            record.goOnFrom(before);
        }
        pending.put(offset, record);
        return true;
    }

    /**
     * Lets the records {@code before}, the partition's queue until a rebalance revoked it, had
     * failed go on with their attempts and backoff when they are polled again, rather than start
     * from their first attempt: the rebalance handed the partition back, and nobody else had it.
     */
    void goOnFrom(PartitionQueue before) {
        before.pending.forEach((offset, r) -> {
            if (r.attempts > 0) {
                failedBefore.put(offset, r);
            }
        });
    }

    /** Marks {@code record} done: it no longer holds back the commit. */
    void done(SourceRecord record) {
        pending.remove(record.record.offset());
    }

    /** Marks {@code record} done as dead-lettered: until the commit passes it, the commit's metadata names it. */
    void deadLettered(SourceRecord record) {
        done(record);
        deadLettered.add(record.record.offset());
    }

    /** The records not done yet, in offset order. */
    Collection<SourceRecord> pending() {
        return pending.values();
    }

    int size() {
        return pending.size();
    }

    /** The offset to commit: the first record not done, or the one after the last polled; -1 before any poll. */
    long committable() {
        return pending.isEmpty() ? nextOffset : pending.keySet().iterator().next();
    }

    /** The metadata of a commit at {@link #committable()}: the dead-lettered offsets at or beyond it, as far as they fit. */
    DeadLetteredOffsets.Encoded commitMetadata() {
        long offset = committable();
        deadLettered.headSet(offset, false).clear(); // the committed offset covers them from now on
        return DeadLetteredOffsets.encode(offset, deadLettered);
    }
}
