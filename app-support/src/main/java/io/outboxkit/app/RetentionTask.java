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
 * failure (an ERROR with its stack trace when it threw an {@link Error}), and the next run tries
 * again, so a database outage delays retention but never stops it. Retention is resumable, so a stop does not wait for a run to finish: {@link #stop()} and
 * {@link #close()} interrupt it, a run stops between its batches, and the next start deletes the
 * rest. Thread-safe.
 */
public final class RetentionTask implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RetentionTask.class);
    /** How long {@link #close()} waits for an interrupted run to end its batch, so the pool is not closed under it. */
    static final Duration STOP_WAIT = Duration.ofSeconds(2);

    /** One run of a retention job. */
    @FunctionalInterface
    public interface Run {
        /**
         * Deletes what is past its period now; when its thread is interrupted (the task stops), it
         * should stop between batches and return what it deleted, as {@link OutboxRetention#runOnce()} does.
         *
         * @return what was deleted, for the log ("3 idempotency key(s)"), or an empty string when nothing was
         * @throws RuntimeException when the run failed (the task logs it and runs again at the next interval)
         */
        String deleteExpired();
    }

    private final String name;
    private final ScheduledExecutorService scheduler;

    private RetentionTask(String name, ScheduledExecutorService scheduler) {
        this.name = name;
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
        return new RetentionTask(name, scheduler);
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
            if (Thread.currentThread().isInterrupted()) {
                LOG.info("[{}] retention stopped with the service{}; the next run deletes the rest", name,
                        deleted == null || deleted.isEmpty() ? "" : " after deleting " + deleted);
            } else if (deleted != null && !deleted.isEmpty()) {
                LOG.info("[{}] retention deleted {}", name, deleted);
            }
        } catch (RuntimeException e) {
            if (Thread.currentThread().isInterrupted()) {
                // The stop's interrupt, met while the run waited for a connection, say: not a failure.
                LOG.info("[{}] retention stopped with the service ({}); the next run deletes the rest", name, e.getMessage());
            } else {
                LOG.warn("[{}] retention failed, will retry at the next interval: {}", name, e.getMessage());
            }
        } catch (Error e) {
            // Thrown out of a scheduleWithFixedDelay task, it would cancel every later run without a word.
            LOG.error("[{}] retention failed with an error, will retry at the next interval", name, e);
        }
    }

    /**
     * Stops scheduling and interrupts a run in progress, which stops after its batch in progress;
     * returns at once, so that the run stops while the service stops its other parts.
     * {@link #close()} then waits for it. Calling it again does nothing more.
     */
    public void stop() {
        scheduler.shutdownNow();
    }

    /**
     * {@link #stop()}, then waits up to {@link #STOP_WAIT} for a run in progress to end its batch, so
     * that the pool is not closed under it; one still in its statement then is left to fail with
     * the pool. Calling it again does nothing more.
     */
    @Override
    public void close() {
        stop();
        try {
            if (!scheduler.awaitTermination(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.info("[{}] retention still in a statement {} after the stop: not waited for", name, STOP_WAIT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
