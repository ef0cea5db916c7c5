package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.OutboxRetention;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Runs {@link OutboxRetention} when the context starts and then after every interval, on a daemon
 * thread of its own (so it needs no {@code @EnableScheduling} and shares no scheduler with the
 * application); a failed run is logged (at ERROR when it threw an {@link Error}) and the next one
 * tries again. Stops with the context, in
 * the poller's phase: a run in progress is waited for up to 5 seconds, then interrupted.
 */
final class OutboxRetentionSchedule implements SmartLifecycle {

    private static final Logger LOG = LoggerFactory.getLogger(OutboxRetentionSchedule.class);

    private final OutboxRetention retention;
    private final Duration interval;
    private ScheduledExecutorService scheduler;

    OutboxRetentionSchedule(OutboxRetention retention, Duration interval) {
        this.retention = retention;
        this.interval = interval;
    }

    @Override
    public synchronized void start() {
        if (scheduler != null) {
            return;
        }
        scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "outboxkit-retention");
            thread.setDaemon(true);
            return thread;
        });
        scheduler.scheduleWithFixedDelay(this::runOnce, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        LOG.info("outboxkit retention runs every {}", interval);
    }

    private void runOnce() {
        try {
            OutboxRetention.Result result = retention.runOnce();
            if (result.publishedMessages() > 0 || result.processedMessages() > 0) {
                LOG.info("outboxkit retention deleted {} published message(s) and {} processed-message record(s)",
                        result.publishedMessages(), result.processedMessages());
            }
        } catch (RuntimeException e) {
            LOG.warn("outboxkit retention failed, will retry in {}: {}", interval, e.getMessage());
        } catch (Error e) {
            // Thrown out of a scheduleWithFixedDelay task, it would cancel every later run without a word.
            LOG.error("outboxkit retention failed with an error, will retry in {}", interval, e);
        }
    }

    @Override
    public synchronized void stop() {
        if (scheduler == null) {
            return;
        }
        scheduler.shutdown();
        try {
            if (!scheduler.awaitTermination(5, TimeUnit.SECONDS)) {
                scheduler.shutdownNow();
            }
        } catch (InterruptedException e) {
            scheduler.shutdownNow();
            Thread.currentThread().interrupt();
        }
        scheduler = null;
    }

    @Override
    public synchronized boolean isRunning() {
        return scheduler != null;
    }

    @Override
    public int getPhase() {
        return OutboxPollerLifecycle.PHASE;
    }
}
