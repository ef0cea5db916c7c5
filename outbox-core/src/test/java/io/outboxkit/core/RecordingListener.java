package io.outboxkit.core;

import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.OutboxListener;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/** A listener that keeps every event, for the tests to read. */
final class RecordingListener implements OutboxListener {

    record Claim(int messages, Duration duration) {
    }

    record Delivery(UUID id, Duration latency) {
    }

    record Failure(UUID id, FailureReason reason) {
    }

    record Handled(String consumer, UUID id, String outcome, Duration lag) {
    }

    final List<Claim> claims = new CopyOnWriteArrayList<>();
    final List<Delivery> deliveries = new CopyOnWriteArrayList<>();
    final List<Failure> failures = new CopyOnWriteArrayList<>();
    final List<UUID> dead = new CopyOnWriteArrayList<>();
    final List<Exception> pollFailures = new CopyOnWriteArrayList<>();
    final List<Handled> handled = new CopyOnWriteArrayList<>();

    @Override
    public void claimed(int messages, Duration duration) {
        claims.add(new Claim(messages, duration));
    }

    @Override
    public void delivered(OutboxMessage message, Duration latency) {
        deliveries.add(new Delivery(message.id(), latency));
    }

    @Override
    public void failed(OutboxMessage message, FailureReason reason, Exception error) {
        failures.add(new Failure(message.id(), reason));
    }

    @Override
    public void dead(OutboxMessage message) {
        dead.add(message.id());
    }

    @Override
    public void pollFailed(Exception error) {
        pollFailures.add(error);
    }

    @Override
    public void processed(String consumer, OutboxMessage message, Duration lag) {
        handled.add(new Handled(consumer, message.id(), "processed", lag));
    }

    @Override
    public void duplicate(String consumer, OutboxMessage message) {
        handled.add(new Handled(consumer, message.id(), "duplicate", null));
    }

    @Override
    public void handlingFailed(String consumer, OutboxMessage message, Exception error) {
        handled.add(new Handled(consumer, message.id(), "failed", null));
    }
}
