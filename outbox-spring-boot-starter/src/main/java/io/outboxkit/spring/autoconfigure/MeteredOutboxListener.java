package io.outboxkit.spring.autoconfigure;

import io.micrometer.core.instrument.MeterRegistry;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.OutboxListener;
import io.outboxkit.micrometer.OutboxMetrics;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The outbox's {@link OutboxMetrics}, bound to the application's registry when this is made, and
 * told of the poller's events through this listener.
 *
 * <p>A listener that hands on to the metrics, rather than the metrics as a bean: an
 * {@link OutboxMetrics} bean is a {@code MeterBinder}, which Spring Boot's metrics auto-configuration
 * binds by itself when it is there, and binding it here as well would fail (it binds once). This way
 * the meters are bound once, by this, whether or not Spring Boot's metrics auto-configuration runs.
 */
final class MeteredOutboxListener implements OutboxListener {

    private final OutboxMetrics metrics;

    MeteredOutboxListener(MeterRegistry registry, OutboxMonitor monitor) {
        this.metrics = OutboxMetrics.withMonitor(monitor);
        metrics.bindTo(registry);
    }

    @Override
    public void claimed(int messages, Duration duration) {
        metrics.claimed(messages, duration);
    }

    @Override
    public void delivered(OutboxMessage message, Duration latency) {
        metrics.delivered(message, latency);
    }

    @Override
    public void deliveredBatch(List<OutboxMessage> messages, Instant confirmed) {
        metrics.deliveredBatch(messages, confirmed);
    }

    @Override
    public void failed(OutboxMessage message, FailureReason reason, Exception error) {
        metrics.failed(message, reason, error);
    }

    @Override
    public void dead(OutboxMessage message) {
        metrics.dead(message);
    }

    @Override
    public void pollFailed(Exception error) {
        metrics.pollFailed(error);
    }

    @Override
    public void processed(String consumer, OutboxMessage message, Duration lag) {
        metrics.processed(consumer, message, lag);
    }

    @Override
    public void duplicate(String consumer, OutboxMessage message) {
        metrics.duplicate(consumer, message);
    }

    @Override
    public void handlingFailed(String consumer, OutboxMessage message, Exception error) {
        metrics.handlingFailed(consumer, message, error);
    }
}
