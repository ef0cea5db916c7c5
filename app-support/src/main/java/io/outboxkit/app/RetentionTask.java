package io.outboxkit.relay;

import io.outboxkit.core.OutboxRetention;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link OutboxRetention} every interval on one daemon thread; a failed run is logged and the
 * next one tries again. Thread-safe.
 */
final class RetentionTask implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RetentionTask.class);

    private final ScheduledExecutorService scheduler;

    private RetentionTask(ScheduledExecutorService scheduler) {
        this.scheduler = scheduler;
    }

    /** Starts running {@code retention} now and then every {@code interval}; {@code name} prefixes its log lines. */
    static RetentionTask start(OutboxRetention retention, Duration interval, String name) {
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "relay-retention-" + name);
            thread.setDaemon(true);
            return thread;
        });
        scheduler.scheduleWithFixedDelay(() -> runOnce(retention, name), 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        return new RetentionTask(scheduler);
    }

    private static void runOnce(OutboxRetention retention, String name) {
        try {
            OutboxRetention.Result result = retention.runOnce();
            if (result.publishedMessages() > 0 || result.processedMessages() > 0) {
                LOG.info("[{}] retention deleted {} published message(s) and {} processed-message record(s)", name,
                        result.publishedMessages(), result.processedMessages());
            }
        } catch (RuntimeException e) {
            LOG.warn("[{}] retention failed, will retry at the next interval: {}", name, e.getMessage());
        }
    }

    /** Stops scheduling; a run in progress is waited for up to 5 seconds, then interrupted. */
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
