package io.outboxkit.app;

import io.outboxkit.core.OutboxRetention;
import java.time.Duration;

/**
 * The retention variables the services share, read by the same rules in each:
 * {@code RETENTION_INTERVAL_MS} (how often a service's retention runs: the relay's, the
 * consumer's, the order service's) and {@code RETENTION_DEDUP_MS} (how long processed-message
 * records are kept: trimmed by the consumer, and by the relay in its own database).
 */
public final class RetentionSettings {

    /** The default {@code RETENTION_INTERVAL_MS}: 1 minute. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofMinutes(1);
    /** The longest retention period any of the variables accepts: 10 years. */
    public static final long MAX_RETENTION_MS = Duration.ofDays(3650).toMillis();

    private static final long DAY_MS = Duration.ofDays(1).toMillis();

    private RetentionSettings() {
    }

    /**
     * {@code RETENTION_INTERVAL_MS}: 10 ms to a day; default {@link #DEFAULT_INTERVAL}.
     *
     * @throws ConfigException naming the variable when it is out of range or not a number
     */
    public static Duration interval(Env env) {
        return env.millis("RETENTION_INTERVAL_MS", DEFAULT_INTERVAL, 10, DAY_MS);
    }

    /**
     * {@code RETENTION_DEDUP_MS}: 1 ms to {@link #MAX_RETENTION_MS}; default
     * {@link OutboxRetention#DEFAULT_DEDUP_WINDOW} (30 days). It must outlast the longest time a
     * message may still be redelivered, or a late duplicate is processed again; the relay checks
     * that against its retry schedule.
     *
     * @throws ConfigException naming the variable when it is out of range or not a number
     */
    public static Duration dedupWindow(Env env) {
        return env.millis("RETENTION_DEDUP_MS", OutboxRetention.DEFAULT_DEDUP_WINDOW, 1, MAX_RETENTION_MS);
    }
}
