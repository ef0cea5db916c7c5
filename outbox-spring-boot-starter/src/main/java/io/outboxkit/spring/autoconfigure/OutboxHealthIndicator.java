package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxSnapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
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
 * {@code pollers}, each one's state by its name (by its name and outbox table, {@code "orders
 * (audit_outbox.outbox)"}, when pollers share a name; and numbered in start order, {@code "orders
 * (outbox) #2"}, when they share that too), so that no poller's state hides another's.
 *
 * <p>The figures come from the {@link OutboxMonitor}, which reads the database at most once a
 * second (two index counts and one row), so a health endpoint polled often costs little. A message
 * due later (written with a delay) does not count until it is due; one waiting for a retry does.
 * Thread-safe.
 */
final class OutboxHealthIndicator implements HealthIndicator {

    private final OutboxMonitor monitor;
    private final List<OutboxPoller> pollers;
    /** Each poller's key in {@code pollers}, in the order of {@link #pollers}. */
    private final List<String> keys;
    private final Duration maxPendingAge;

    /** {@code pollers}: those the starter runs in this application, none when another process delivers. */
    OutboxHealthIndicator(OutboxMonitor monitor, List<OutboxPoller> pollers, Duration maxPendingAge) {
        this.monitor = monitor;
        this.pollers = List.copyOf(pollers);
        this.keys = keys(this.pollers);
        this.maxPendingAge = maxPendingAge;
    }

    private static List<String> keys(List<OutboxPoller> pollers) {
        List<String> byName = pollers.stream().map(OutboxPoller::name).toList();
        List<String> byOutbox = pollers.stream().map(poller -> Collections.frequency(byName, poller.name()) == 1
                ? poller.name() : poller.name() + " (" + outboxTable(poller.settings().names()) + ")").toList();
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < byOutbox.size(); i++) {
            String key = byOutbox.get(i);
            keys.add(Collections.frequency(byOutbox, key) == 1 ? key
                    : key + " #" + (Collections.frequency(byOutbox.subList(0, i), key) + 1));
        }
        return List.copyOf(keys);
    }

    /** Unquoted, as a person reads it: OutboxNames holds plain lowercase identifiers only. */
    private static String outboxTable(OutboxNames names) {
        return names.schema() == null ? names.outboxTable() : names.schema() + "." + names.outboxTable();
    }

    @Override
    public Health health() {
        Health.Builder health = Health.up();
        boolean allRunning = true;
        Map<String, String> states = new LinkedHashMap<>();
        for (int i = 0; i < pollers.size(); i++) {
            boolean running = pollers.get(i).isRunning();
            allRunning &= running;
            states.put(keys.get(i), running ? "running" : "stopped");
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
