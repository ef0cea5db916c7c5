package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxSnapshot;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The {@code outbox} health component. DOWN when a poller the starter runs in this application is
 * stopped, when the outbox's figures cannot be read, or when the oldest due PENDING message has
 * waited longer than {@code outboxkit.health.max-pending-age}; UP otherwise. Its details:
 * {@code pending}, {@code dead}, {@code oldestPendingAgeSeconds}, {@code maxPendingAgeSeconds}, and
 * {@code poller} (running; stopped when one is; or none when the starter runs none here, as with
 * {@code outboxkit.poller.enabled=false}, another process delivering), and with several pollers
 * {@code pollers}, each one's state by its name.
 *
 * <p>The figures come from the {@link OutboxMonitor}, which reads the database at most once a
 * second (two index counts and one row), so a health endpoint polled often costs little. A message
 * due later (written with a delay) does not count until it is due; one waiting for a retry does.
 * Thread-safe.
 */
final class OutboxHealthIndicator implements HealthIndicator {

    private final OutboxMonitor monitor;
    private final List<OutboxPoller> pollers;
    private final Duration maxPendingAge;

    /** {@code pollers}: those the starter runs in this application, none when another process delivers. */
    OutboxHealthIndicator(OutboxMonitor monitor, List<OutboxPoller> pollers, Duration maxPendingAge) {
        this.monitor = monitor;
        this.pollers = List.copyOf(pollers);
        this.maxPendingAge = maxPendingAge;
    }

    @Override
    public Health health() {
        Health.Builder health = Health.up();
        boolean allRunning = true;
        Map<String, String> states = new LinkedHashMap<>();
        for (OutboxPoller poller : pollers) {
            boolean running = poller.isRunning();
            allRunning &= running;
            states.put(poller.name(), running ? "running" : "stopped");
        }
        if (pollers.isEmpty()) {
            health.withDetail("poller", "none"); // another process delivers
        } else {
            health.withDetail("poller", allRunning ? "running" : "stopped");
            if (pollers.size() > 1) {
                health.withDetail("pollers", states);
            }
            if (!allRunning) {
                health.down();
            }
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
        } else if (!allRunning) {
            health.withDetail("reason", (pollers.size() == 1 ? "the poller of this application is not delivering"
                    : "a poller of this application is not delivering (see pollers)")
                    + ": stopped, or a worker of it has ended (its log says why)");
        }
        return health.build();
    }

    private static double seconds(Duration duration) {
        return duration.toMillis() / 1000.0;
    }
}
