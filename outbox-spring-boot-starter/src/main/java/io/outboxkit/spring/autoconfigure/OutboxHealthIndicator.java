package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxSnapshot;
import java.time.Duration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The {@code outbox} health component. DOWN when the poller this application runs is stopped, when
 * the outbox's figures cannot be read, or when the oldest due PENDING message has waited longer than
 * {@code outboxkit.health.max-pending-age}; UP otherwise. Its details: {@code pending}, {@code dead},
 * {@code oldestPendingAgeSeconds}, {@code maxPendingAgeSeconds}, and {@code poller} (running,
 * stopped, or none when another process delivers).
 *
 * <p>The figures come from the {@link OutboxMonitor}, which reads the database at most once a
 * second (two index counts and one row), so a health endpoint polled often costs little. A message
 * due later (written with a delay) does not count until it is due; one waiting for a retry does.
 * Thread-safe.
 */
final class OutboxHealthIndicator implements HealthIndicator {

    private final OutboxMonitor monitor;
    private final OutboxPoller poller;
    private final Duration maxPendingAge;

    /** {@code poller} is null when this application runs none. */
    OutboxHealthIndicator(OutboxMonitor monitor, OutboxPoller poller, Duration maxPendingAge) {
        this.monitor = monitor;
        this.poller = poller;
        this.maxPendingAge = maxPendingAge;
    }

    @Override
    public Health health() {
        Health.Builder health = Health.up();
        if (poller != null) {
            boolean running = poller.isRunning();
            health.withDetail("poller", running ? "running" : "stopped");
            if (!running) {
                health.down();
            }
        } else {
            health.withDetail("poller", "none"); // another process delivers
        }
        health.withDetail("maxPendingAgeSeconds", seconds(maxPendingAge));
        OutboxSnapshot snapshot;
        try {
            snapshot = monitor.snapshot();
        } catch (OutboxException e) {
            // The library's message says what could not be read; no stack trace in a health response.
            return health.down().withDetail("error", e.getMessage()).build();
        }
        health.withDetail("pending", snapshot.pending())
                .withDetail("dead", snapshot.dead())
                .withDetail("oldestPendingAgeSeconds", seconds(snapshot.oldestPendingAge()));
        if (snapshot.oldestPendingAge().compareTo(maxPendingAge) > 0) {
            health.down().withDetail("reason", "the oldest pending message (" + snapshot.oldestPendingId()
                    + ") has waited longer than outboxkit.health.max-pending-age");
        } else if (poller != null && !poller.isRunning()) {
            health.withDetail("reason", "the poller of this application is not delivering: stopped, or a worker of it "
                    + "has ended (its log says why)");
        }
        return health.build();
    }

    private static double seconds(Duration duration) {
        return duration.toMillis() / 1000.0;
    }
}
