package io.outboxkit.kafka;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The records of one partition that were polled and are not done yet, in offset order, and the
 * offset up to which everything is done (the one to commit). Confined to the source's thread.
 */
final class PartitionQueue {

    private final Map<Long, SourceRecord> pending = new LinkedHashMap<>();
    private long nextOffset = -1;

    void add(SourceRecord record) {
        pending.put(record.record.offset(), record);
        nextOffset = record.record.offset() + 1;
    }

    /** Marks {@code record} done: it no longer holds back the commit. */
    void done(SourceRecord record) {
        pending.remove(record.record.offset());
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
}
