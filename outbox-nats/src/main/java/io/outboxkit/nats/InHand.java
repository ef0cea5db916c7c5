package io.outboxkit.nats;

import io.nats.client.Message;
import io.outboxkit.core.OutboxMessage;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/**
 * The messages a source has received and not yet acknowledged, by stream sequence, and which of
 * them may go to the receiver: per aggregate only the earliest in hand, and only while it is held
 * here (not given back to the server to be redelivered after a failure). So a failed message keeps
 * the later ones of its aggregate waiting, unacknowledged, until it is done, or until the source
 * finds it gone from the stream or acknowledged by another source of the consumer. Used by one thread.
 */
final class InHand {

    /** Where a message in hand stands. */
    enum State {
        /** Here, to be handed to the receiver when it is the earliest of its aggregate. */
        HELD,
        /** Failed and given back with a delay: its aggregate waits for the redelivery, until {@code overdueNanos}. */
        WAITING
    }

    /** One message in hand; {@code delivery} is its latest delivery, whose ack counts. */
    static final class Entry {
        final long sequence;
        final String aggregate;
        OutboxMessage message;
        Message delivery;
        State state = State.HELD;
        long touchedNanos;
        /**
         * The receiver's failures of this message itself, since this source took it in hand. Not the
         * server's delivery count, which also counts the rounds the receiver threw on whole (its
         * database down, say), and those say nothing about the message.
         */
        int failures;
        /** While waiting: when its redelivery is late enough to ask whether the stream still holds it. */
        long overdueNanos;

        Entry(long sequence, OutboxMessage message, Message delivery, long now) {
            this.sequence = sequence;
            this.aggregate = message.aggregateType() + '\u0000' + message.aggregateId();
            this.message = message;
            this.delivery = delivery;
            this.touchedNanos = now;
        }
    }

    private final TreeMap<Long, Entry> bySequence = new TreeMap<>();

    /** Whether a message with this stream sequence is in hand. */
    boolean contains(long sequence) {
        return bySequence.containsKey(sequence);
    }

    /**
     * Takes a delivery of a message in hand (a redelivery): it replaces the earlier one, the
     * message's failures counted so far kept, and the message is held again.
     */
    void redelivered(long sequence, OutboxMessage message, Message delivery, long now) {
        Entry entry = bySequence.get(sequence);
        entry.message = message;
        entry.delivery = delivery;
        entry.state = State.HELD;
        entry.touchedNanos = now;
    }

    /** Adds a message received for the first time in this source's life. */
    void add(long sequence, OutboxMessage message, Message delivery, long now) {
        bySequence.put(sequence, new Entry(sequence, message, delivery, now));
    }

    /**
     * The messages that may go to the receiver now, in stream order, at most one per aggregate and
     * at most {@code limit}: each held one that is the earliest in hand of its aggregate.
     */
    List<Entry> ready(int limit) {
        List<Entry> ready = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Entry entry : bySequence.values()) {
            if (seen.add(entry.aggregate) && entry.state == State.HELD) {
                ready.add(entry);
                if (ready.size() == limit) {
                    break;
                }
            }
        }
        return ready;
    }

    /** The message was given back: its aggregate waits for the redelivery, which is late after {@code overdueNanos}. */
    void waiting(Entry entry, long overdueNanos) {
        entry.state = State.WAITING;
        entry.overdueNanos = overdueNanos;
    }

    /** The waiting messages whose redelivery is late at {@code nowNanos}. */
    List<Entry> overdue(long nowNanos) {
        List<Entry> overdue = new ArrayList<>();
        for (Entry entry : bySequence.values()) {
            if (entry.state == State.WAITING && entry.overdueNanos - nowNanos < 0) {
                overdue.add(entry);
            }
        }
        return overdue;
    }

    /** The held messages not touched since {@code beforeNanos}: their ack wait needs extending. */
    List<Entry> heldSince(long beforeNanos) {
        List<Entry> stale = new ArrayList<>();
        for (Entry entry : bySequence.values()) {
            if (entry.state == State.HELD && entry.touchedNanos - beforeNanos < 0) {
                stale.add(entry);
            }
        }
        return stale;
    }

    /** The message is done (acknowledged or dead-lettered): its aggregate's next may go. */
    void remove(Entry entry) {
        bySequence.remove(entry.sequence);
    }

    /** Forgets everything (the consumer was recreated: these deliveries no longer count). */
    void clear() {
        bySequence.clear();
    }

    int size() {
        return bySequence.size();
    }
}
