package io.outboxkit.app;

import io.outboxkit.core.OutboxRetention;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one service's retention every interval on a daemon thread: the relay's of its outbox, the
 * consumer's of its processed-message records, the order service's of its idempotency keys. A run
 * that deleted something logs one INFO line saying what; a failed run logs one WARN line with the
 * failure, and the next run tries again, so a database outage delays retention but never stops
 * it. Thread-safe.
 */
public final class RetentionTask implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RetentionTask.class);

    /** One run of a retention job. */
    @FunctionalInterface
    public interface Run {
        /**
         * Deletes what is past its period now.
         *
         * @return what was deleted, for the log ("3 idempotency key(s)"), or an empty string when nothing was
         * @throws RuntimeException when the run failed (the task logs it and runs again at the next interval)
         */
        String deleteExpired();
    }

    private final ScheduledExecutorService scheduler;

    private RetentionTask(ScheduledExecutorService scheduler) {
        this.scheduler = scheduler;
    }

    /**
     * Starts {@code run} now and then every {@code interval} after the last run ended; {@code name}
     * prefixes its log lines and names its thread.
     */
    public static RetentionTask start(String name, Duration interval, Run run) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(run, "run");
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "retention-" + name);
            thread.setDaemon(true);
            return thread;
        });
        scheduler.scheduleWithFixedDelay(() -> runOnce(run, name), 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        return new RetentionTask(scheduler);
    }

    /** As {@link #start(String, Duration, Run)}, running {@code retention}. */
    public static RetentionTask start(String name, Duration interval, OutboxRetention retention) {
        Objects.requireNonNull(retention, "retention");
        return start(name, interval, () -> describe(retention.runOnce()));
    }

    private static String describe(OutboxRetention.Result result) {
        List<String> deleted = new ArrayList<>(2);
        if (result.publishedMessages() > 0) {
            deleted.add(result.publishedMessages() + " published message(s)");
        }
        if (result.processedMessages() > 0) {
            deleted.add(result.processedMessages() + " processed-message record(s)");
        }
        return String.join(" and ", deleted);
    }

    private static void runOnce(Run run, String name) {
        try {
            String deleted = run.deleteExpired();
            if (deleted != null && !deleted.isEmpty()) {
                LOG.info("[{}] retention deleted {}", name, deleted);
            }
        } catch (RuntimeException e) {
            LOG.warn("[{}] retention failed, will retry at the next interval: {}", name, e.getMessage());
        }
    }

    /** Stops scheduling; a run in progress is waited for up to 5 seconds, then interrupted. Calling it again does nothing. */
    @Override
    public void close() {
        scheduler.shutdown();
        try {
            if (!scheduler.awaitTermination(5, TimeUnit.SECONDS)) {
                scheduler.shutdownNow();
            }
        } catch (InterruptedException e) {
            scheduler.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
