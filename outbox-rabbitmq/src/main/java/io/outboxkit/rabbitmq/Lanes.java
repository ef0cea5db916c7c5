package io.outboxkit.rabbitmq;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The messages that wait because of an earlier message of their aggregate, one lane per
 * aggregate in delivery order: a failed message at its head until it succeeds or is
 * dead-lettered, or a message whose predecessor is in the batch at hand. A lane's head is handed
 * to the receiver when it is due, the rest only after it. Used by the source's one thread only.
 */
final class Lanes {

    /** An aggregate: the unit of order. */
    record Key(String aggregateType, String aggregateId) {
    }

    private final Map<Key, ArrayDeque<Held>> lanes = new LinkedHashMap<>();

    /** Whether messages of {@code key} are waiting. */
    boolean holds(Key key) {
        return lanes.containsKey(key);
    }

    /** Puts {@code message} behind the waiting messages of its aggregate. */
    void append(Held message) {
        lanes.computeIfAbsent(message.key, k -> new ArrayDeque<>()).addLast(message);
    }

    /** Puts a failed {@code message} back in front of its aggregate's later ones. */
    void putFirst(Held message) {
        lanes.computeIfAbsent(message.key, k -> new ArrayDeque<>()).addFirst(message);
    }

    /**
     * Moves each lane's head that is due at {@code now} into {@code batch}, unless its aggregate
     * is there already, until the batch holds {@code limit}.
     */
    void takeDue(long now, List<Held> batch, Set<Key> inBatch, int limit) {
        for (Iterator<Map.Entry<Key, ArrayDeque<Held>>> it = lanes.entrySet().iterator(); it.hasNext()
                && batch.size() < limit; ) {
            Map.Entry<Key, ArrayDeque<Held>> lane = it.next();
            Held head = lane.getValue().peekFirst();
            if (inBatch.contains(lane.getKey()) || head.notBefore - now > 0) {
                continue;
            }
            lane.getValue().pollFirst();
            batch.add(head);
            inBatch.add(lane.getKey());
            if (lane.getValue().isEmpty()) {
                it.remove();
            }
        }
    }

    /** How long from {@code now} until a lane's head is due: 0 when one is, {@link Long#MAX_VALUE} when none waits. */
    long nanosUntilDue(long now) {
        long soonest = Long.MAX_VALUE;
        for (ArrayDeque<Held> lane : lanes.values()) {
            soonest = Math.min(soonest, Math.max(0, lane.peekFirst().notBefore - now));
        }
        return soonest;
    }

    /** Whether a message the receiver failed waits for its retry. */
    boolean anyFailed() {
        return lanes.values().stream().anyMatch(lane -> lane.peekFirst().lastError != null);
    }

    /** Forgets every waiting message (their session is gone: the broker delivers them again). */
    void clear() {
        lanes.clear();
    }
}
