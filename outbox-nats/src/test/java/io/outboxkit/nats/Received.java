package io.outboxkit.nats;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.BatchReceiver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;

/**
 * A receiver that applies each message once, like an idempotent consumer: it records every delivery,
 * skips a message it applied before, fails the messages a rule says to fail, and counts ordering
 * violations: a message of an aggregate applied after a later one of the same aggregate.
 */
final class Received implements BatchReceiver {

    private final List<OutboxMessage> deliveries = new ArrayList<>();
    private final List<List<OutboxMessage>> batches = new ArrayList<>();
    private final Set<UUID> applied = new HashSet<>();
    private final List<OutboxMessage> appliedInOrder = new ArrayList<>();
    private final Map<String, Long> lastApplied = new HashMap<>();
    private final List<String> violations = new ArrayList<>();
    /** What the source said it dead-lettered, in order: a message's id, or "unreadable". */
    private final List<String> deadLettered = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile Predicate<OutboxMessage> fail = message -> false;

    Received failing(Predicate<OutboxMessage> rule) {
        this.fail = rule;
        return this;
    }

    @Override
    public synchronized Map<UUID, ? extends Exception> receive(List<OutboxMessage> batch) {
        batches.add(List.copyOf(batch));
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        for (OutboxMessage message : batch) {
            deliveries.add(message);
            if (applied.contains(message.id())) {
                continue; // a duplicate: skipped, as IdempotentHandler would
            }
            if (fail.test(message)) {
                failures.put(message.id(), new IllegalStateException("refused " + message.aggregateId() + "#" + message.sequence()));
                continue;
            }
            String aggregate = message.aggregateType() + "/" + message.aggregateId();
            Long last = lastApplied.get(aggregate);
            if (last != null && last > message.sequence()) {
                violations.add(aggregate + ": " + message.sequence() + " after " + last);
            }
            lastApplied.put(aggregate, message.sequence());
            applied.add(message.id());
            appliedInOrder.add(message);
        }
        return failures;
    }

    /** Records each dead-lettered message: its id, or {@code "unreadable"}. */
    @Override
    public void deadLettered(OutboxMessage message, String error) {
        deadLettered.add(message == null ? "unreadable" : message.id().toString());
    }

    List<String> deadLettered() {
        return List.copyOf(deadLettered);
    }

    synchronized int appliedCount() {
        return applied.size();
    }

    synchronized boolean hasApplied(UUID id) {
        return applied.contains(id);
    }

    synchronized List<OutboxMessage> appliedInOrder() {
        return List.copyOf(appliedInOrder);
    }

    synchronized List<OutboxMessage> deliveries() {
        return List.copyOf(deliveries);
    }

    synchronized List<List<OutboxMessage>> batches() {
        return List.copyOf(batches);
    }

    synchronized List<String> violations() {
        return List.copyOf(violations);
    }

    synchronized long deliveriesOf(UUID id) {
        return deliveries.stream().filter(m -> m.id().equals(id)).count();
    }
}
