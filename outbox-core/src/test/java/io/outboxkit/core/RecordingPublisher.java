package io.outboxkit.core;

import io.outboxkit.core.spi.MessagePublisher;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/** A publisher that records what it delivered, and fails the messages a rule picks. */
final class RecordingPublisher implements MessagePublisher {

    private final Map<UUID, AtomicInteger> deliveries = new ConcurrentHashMap<>();
    private final Map<String, List<Long>> sequencesByAggregate = new ConcurrentHashMap<>();
    private final AtomicInteger attempts = new AtomicInteger();
    private volatile Predicate<OutboxMessage> failWhen = m -> false;
    private volatile boolean unreachable;

    /** Fails the messages {@code rule} picks as refused by a receiver that is up. */
    RecordingPublisher failWhen(Predicate<OutboxMessage> rule) {
        this.failWhen = rule;
        return this;
    }

    /** Fails the messages {@code rule} picks as a receiver that cannot be reached does (connection refused). */
    RecordingPublisher unreachableWhen(Predicate<OutboxMessage> rule) {
        this.unreachable = true;
        return failWhen(rule);
    }

    @Override
    public void publish(OutboxMessage message) {
        attempts.incrementAndGet();
        if (failWhen.test(message)) {
            if (unreachable) {
                throw new UncheckedIOException(new ConnectException("Connection refused"));
            }
            throw new IllegalStateException("broker refused " + message.eventType());
        }
        deliveries.computeIfAbsent(message.id(), id -> new AtomicInteger()).incrementAndGet();
        sequencesByAggregate.computeIfAbsent(message.aggregateId(), a -> Collections.synchronizedList(new ArrayList<>()))
                .add(message.sequence());
    }

    int deliveredCount() {
        return deliveries.size();
    }

    int attempts() {
        return attempts.get();
    }

    boolean delivered(UUID id) {
        return deliveries.containsKey(id);
    }

    /** Ids delivered more than once. */
    List<UUID> duplicates() {
        return deliveries.entrySet().stream().filter(e -> e.getValue().get() > 1).map(Map.Entry::getKey).toList();
    }

    /** The sequences of one aggregate in the order they were delivered. */
    List<Long> sequencesOf(String aggregateId) {
        return List.copyOf(sequencesByAggregate.getOrDefault(aggregateId, List.of()));
    }

    Map<String, List<Long>> sequencesByAggregate() {
        return sequencesByAggregate;
    }
}
