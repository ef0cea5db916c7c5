package io.outboxkit.rabbitmq;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.BatchReceiver;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;

/**
 * A receiver that applies each message once, as an idempotent consumer would, and records what
 * reached it: every batch, every attempt, and the order in which each aggregate's messages were
 * applied. Like the consumer's ordering-violation record, applying a message older than the last
 * one applied of its aggregate is a violation; so is a batch with two messages of one aggregate.
 */
final class Recorder implements BatchReceiver {

    /** Every batch handed over, in order. */
    final List<List<OutboxMessage>> batches = Collections.synchronizedList(new ArrayList<>());
    /** What happened, in order: "received <id> <attempt>", "applied <id>", "failed <id>". */
    final List<String> events = Collections.synchronizedList(new ArrayList<>());
    final List<String> violations = Collections.synchronizedList(new ArrayList<>());
    /** What the source said it dead-lettered, in order: a message's id, or "unreadable". */
    final List<String> deadLettered = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, List<Long>> appliedByAggregate = new ConcurrentHashMap<>();
    private final Set<UUID> applied = ConcurrentHashMap.newKeySet();
    private final Map<UUID, Integer> deliveries = new ConcurrentHashMap<>();
    /** Why a message fails this time, or null when it is applied. */
    volatile Function<OutboxMessage, String> failure = m -> null;
    /** Throws on a whole batch when it says so. */
    volatile Function<List<OutboxMessage>, Boolean> throwOn = b -> false;
    private volatile CountDownLatch gate;
    private final CountDownLatch entered = new CountDownLatch(1);

    /** Makes the receiver wait in its next batch until {@link #release()}. */
    Recorder holdNextBatch() {
        gate = new CountDownLatch(1);
        return this;
    }

    void release() {
        gate.countDown();
    }

    boolean isHolding() {
        return entered.getCount() == 0;
    }

    @Override
    public Map<UUID, Exception> receive(List<OutboxMessage> batch) throws Exception {
        batches.add(batch);
        Set<String> aggregates = new HashSet<>();
        for (OutboxMessage m : batch) {
            events.add("received " + m.id() + " " + m.attempts());
            deliveries.merge(m.id(), 1, Integer::sum);
            if (!aggregates.add(key(m))) {
                violations.add("two messages of " + key(m) + " in one batch");
            }
        }
        CountDownLatch holding = gate;
        if (holding != null) {
            entered.countDown();
            holding.await();
            gate = null;
        }
        if (throwOn.apply(batch)) {
            throw new IllegalStateException("the receiver failed the whole batch");
        }
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        for (OutboxMessage m : batch) {
            String why = failure.apply(m);
            if (why != null) {
                failures.put(m.id(), new IllegalStateException(why));
                events.add("failed " + m.id());
            } else {
                apply(m);
            }
        }
        return failures;
    }

    /** Records each dead-lettered message: its id, or {@code "unreadable"}. */
    @Override
    public void deadLettered(OutboxMessage message, String error) {
        deadLettered.add(message == null ? "unreadable" : message.id().toString());
    }

    private synchronized void apply(OutboxMessage m) {
        if (!applied.add(m.id())) {
            return; // a duplicate: skipped, as IdempotentHandler would
        }
        List<Long> sequences = appliedByAggregate.computeIfAbsent(key(m), k -> new ArrayList<>());
        if (!sequences.isEmpty() && sequences.get(sequences.size() - 1) > m.sequence()) {
            violations.add(key(m) + ": " + m.sequence() + " applied after " + sequences.get(sequences.size() - 1));
        }
        sequences.add(m.sequence());
        events.add("applied " + m.id());
    }

    private static String key(OutboxMessage m) {
        return m.aggregateType() + "/" + m.aggregateId();
    }

    int appliedCount() {
        return applied.size();
    }

    boolean hasApplied(UUID id) {
        return applied.contains(id);
    }

    /** How often {@code id} reached the receiver. */
    int deliveries(UUID id) {
        return deliveries.getOrDefault(id, 0);
    }

    /** The sequences of {@code aggregate}'s applied messages, in the order applied. */
    synchronized List<Long> applied(String aggregateType, String aggregateId) {
        return List.copyOf(appliedByAggregate.getOrDefault(aggregateType + "/" + aggregateId, List.of()));
    }

    int indexOf(String event) {
        synchronized (events) {
            return events.indexOf(event);
        }
    }
}
