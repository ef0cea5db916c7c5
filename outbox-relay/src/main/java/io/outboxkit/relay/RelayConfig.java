package io.outboxkit.relay;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import io.outboxkit.app.OutboxNamesSettings;
import io.outboxkit.app.RetentionSettings;
import io.outboxkit.app.ServiceSettings;
import io.outboxkit.app.broker.BrokerSettings;
import io.outboxkit.app.delivery.Delivery;
import io.outboxkit.app.delivery.HttpPublisher;
import io.outboxkit.core.ClaimMode;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxRetention;
import io.outboxkit.core.PollerSettings;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * The relay's settings, each read from an environment variable by {@link #from(Env)}.
 *
 * @param consumerUrl         {@code CONSUMER_URL}: where each message is POSTed; default {@value #DEFAULT_CONSUMER_URL}
 * @param delivery            {@code DELIVERY}: {@code batch} (one request per claimed batch, to CONSUMER_URL + "/batch")
 *                            or {@code single} (one request per message, to CONSUMER_URL); default batch
 * @param claimMode           {@code CLAIM_MODE}: {@code lock} (row locks held through delivery: one write per
 *                            message instead of two, and a crashed relay's messages free at once) or
 *                            {@code lease} (a committed lease, no transaction open during delivery); see
 *                            {@link ClaimMode}; default lease: no transaction is held open during delivery,
 *                            and an attempt counts even when the relay dies in it; lock drains faster
 *                            (see BENCHMARKS.md)
 * @param service             {@code ADMIN_HOST} and {@code PORT}: where the admin server listens, default
 *                            {@value #DEFAULT_ADMIN_HOST}:{@value #DEFAULT_ADMIN_PORT}; {@code DB_POOL_SIZE}: the
 *                            relay's pool, at least {@code WORKERS} + 3, default {@value #DEFAULT_POOL_SIZE} or
 *                            {@code WORKERS} + 3 when that is more (see {@link ServiceSettings} for the ranges)
 * @param relayName           {@code RELAY_NAME}: the poller's name (lease owner, log prefix), or null for the
 *                            poller's unique default; give each relay on one database a distinct name
 * @param batchSize           {@code BATCH_SIZE}: messages claimed per cycle, 1 to 10,000; default 100
 * @param workers             {@code WORKERS}: poller threads whose cycles overlap (one claims or records while
 *                            another's batch is on the network), 1 to 64; default {@value #DEFAULT_WORKERS}
 * @param pollInterval        {@code POLL_INTERVAL_MS}: how long an idle relay waits before it looks anyway; default 1 s
 * @param maxAttempts         {@code MAX_ATTEMPTS}: deliveries tried before a message is DEAD; default 10
 * @param lease               {@code LEASE_MS}: how long a claim lasts; must exceed the HTTP timeout; default 30 s
 * @param httpTimeout         {@code HTTP_TIMEOUT_MS}: the limit on connecting and on each delivery; default 5 s
 * @param statementTimeout    {@code STATEMENT_TIMEOUT_MS}: how long one of the relay's SQL statements (a claim, the
 *                            record of an outcome) may run before PostgreSQL cancels it, up to 24 days; default 30 s
 *                            (see {@link OutboxPoller.Builder#statementTimeout}); the relay's pool waits that long
 *                            and {@link io.outboxkit.app.Database#ANSWER_MARGIN} more for an answer
 * @param maxInFlight         {@code MAX_IN_FLIGHT}: HTTP requests running at once, over all the workers' batches, 1 to
 *                            256; default 16
 * @param initialBackoff      {@code BACKOFF_INITIAL_MS}: the retry delay after a first failure; default 1 s
 * @param maxBackoff          {@code BACKOFF_MAX_MS}: the longest retry delay; default 5 min
 * @param ordered             {@code ORDERED}: deliver each aggregate's messages in write order; default true
 * @param deadBlocksAggregate {@code DEAD_BLOCKS_AGGREGATE}: a DEAD message holds back its aggregate's later
 *                            messages until requeued; default true
 * @param publishedRetention  {@code RETENTION_PUBLISHED_MS}: how long PUBLISHED messages are kept; 0 deletes each
 *                            message as soon as it is delivered (it is never written as PUBLISHED, so it
 *                            cannot be listed or replayed); default 7 days
 * @param dedupWindow         {@code RETENTION_DEDUP_MS}: how long processed-message records in the relay's database
 *                            are kept (where a consumer shares it; the consumer trims its own, see
 *                            {@link RetentionSettings}); must exceed the longest redelivery span of the retry
 *                            schedule; default 30 days
 * @param retentionInterval   {@code RETENTION_INTERVAL_MS}: how often retention runs; default 60 s
 * @param retentionVacuum     {@code RETENTION_VACUUM}: VACUUM a table after retention deleted from it, and
 *                            the outbox once it holds many dead rows (see {@link io.outboxkit.core.OutboxRetention}),
 *                            for servers where autovacuum is off or falls behind; default false
 * @param sink                {@code SINK} and its broker's variables (see {@link BrokerSettings}): where messages
 *                            go; default {@code http}, the consumer at {@code CONSUMER_URL}
 * @param names               {@code OUTBOX_SCHEMA}, {@code OUTBOX_TABLE}, {@code PROCESSED_TABLE} and
 *                            {@code OUTBOX_CHANNEL} (see {@link OutboxNamesSettings}): the outbox the relay
 *                            migrates, claims from, trims and shows, for a service that keeps it under other
 *                            names; default {@link OutboxNames#DEFAULT}
 */
public record RelayConfig(URI consumerUrl, Delivery delivery, ClaimMode claimMode, ServiceSettings service, String relayName, int batchSize, int workers,
                          Duration pollInterval, int maxAttempts, Duration lease, Duration httpTimeout,
                          Duration statementTimeout, int maxInFlight, Duration initialBackoff, Duration maxBackoff, boolean ordered,
                          boolean deadBlocksAggregate, Duration publishedRetention, Duration dedupWindow,
                          Duration retentionInterval, boolean retentionVacuum, BrokerSettings sink,
                          OutboxNames names) {

    /** The default {@code CONSUMER_URL}. */
    public static final String DEFAULT_CONSUMER_URL = "http://localhost:8081/messages";
    /** The default {@code DELIVERY}: a batch per request. */
    public static final Delivery DEFAULT_DELIVERY = HttpPublisher.DEFAULT_DELIVERY;
    /** The default {@code CLAIM_MODE}: a committed lease, so every attempt counts even if the relay dies in it. */
    public static final ClaimMode DEFAULT_CLAIM_MODE = ClaimMode.LEASE;
    /** The variable of the address the admin server listens on. */
    public static final String ADMIN_HOST = "ADMIN_HOST";
    /** The default {@code ADMIN_HOST}: local only. */
    public static final String DEFAULT_ADMIN_HOST = "127.0.0.1";
    /** The default {@code PORT} of the admin server. */
    public static final int DEFAULT_ADMIN_PORT = 8082;
    /** The default {@code DB_POOL_SIZE}: the poller's LISTEN, its two workers, retention, and the admin server. */
    public static final int DEFAULT_POOL_SIZE = 5;
    /** Connections the relay needs besides one per worker: the poller's LISTEN, retention, the admin server. */
    public static final int POOL_SIZE_BEYOND_WORKERS = 3;
    /** The default {@code HTTP_TIMEOUT_MS}: 5 seconds. */
    public static final Duration DEFAULT_HTTP_TIMEOUT = HttpPublisher.DEFAULT_TIMEOUT;
    /** The default {@code WORKERS}: two, so that claiming and recording overlap delivery. */
    public static final int DEFAULT_WORKERS = 2;
    /** The default {@code MAX_IN_FLIGHT}. */
    public static final int DEFAULT_MAX_IN_FLIGHT = HttpPublisher.DEFAULT_MAX_IN_FLIGHT;
    /** The default {@code RETENTION_INTERVAL_MS}: 1 minute. */
    public static final Duration DEFAULT_RETENTION_INTERVAL = RetentionSettings.DEFAULT_INTERVAL;

    private static final long DAY_MS = Duration.ofDays(1).toMillis();

    /**
     * Checks what no single variable can: the pool has a connection for every worker and three
     * more, the lease exceeds the HTTP timeout, the backoff cap is not below its start, and the
     * deduplication window outlasts the retry schedule.
     *
     * @throws ConfigException naming the variables at fault
     * @throws NullPointerException when a required component is null
     */
    public RelayConfig {
        Objects.requireNonNull(consumerUrl, "consumerUrl");
        Objects.requireNonNull(delivery, "delivery");
        Objects.requireNonNull(claimMode, "claimMode");
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(pollInterval, "pollInterval");
        Objects.requireNonNull(lease, "lease");
        Objects.requireNonNull(httpTimeout, "httpTimeout");
        Objects.requireNonNull(statementTimeout, "statementTimeout");
        Objects.requireNonNull(initialBackoff, "initialBackoff");
        Objects.requireNonNull(maxBackoff, "maxBackoff");
        Objects.requireNonNull(publishedRetention, "publishedRetention");
        Objects.requireNonNull(dedupWindow, "dedupWindow");
        Objects.requireNonNull(retentionInterval, "retentionInterval");
        Objects.requireNonNull(sink, "sink");
        Objects.requireNonNull(names, "names");
        if (service.poolSize() < workers + POOL_SIZE_BEYOND_WORKERS) {
            throw new ConfigException("DB_POOL_SIZE=" + service.poolSize() + " must be at least WORKERS + 3 = "
                    + (workers + POOL_SIZE_BEYOND_WORKERS) + ": a connection for each worker, the poller's LISTEN, "
                    + "retention and the admin server");
        }
        if (lease.compareTo(httpTimeout) <= 0) {
            throw new ConfigException("LEASE_MS=" + lease.toMillis() + " must exceed HTTP_TIMEOUT_MS="
                    + httpTimeout.toMillis() + ": a claim must outlast a delivery, or the message is delivered twice");
        }
        if (maxBackoff.compareTo(initialBackoff) < 0) {
            throw new ConfigException("BACKOFF_MAX_MS=" + maxBackoff.toMillis() + " must not be less than BACKOFF_INITIAL_MS="
                    + initialBackoff.toMillis());
        }
        Duration redelivery = longestRedeliverySpan(maxAttempts, initialBackoff, maxBackoff, lease);
        if (dedupWindow.compareTo(redelivery) <= 0) {
            throw new ConfigException("RETENTION_DEDUP_MS=" + dedupWindow.toMillis() + " must exceed the longest time a "
                    + "message may be redelivered (" + redelivery.toMillis() + " ms with MAX_ATTEMPTS, BACKOFF_* and "
                    + "LEASE_MS as set), or a late duplicate would be processed again");
        }
    }

    /**
     * The settings from the environment, each with its default.
     *
     * @throws ConfigException naming the first bad variable and what it expects
     */
    public static RelayConfig from(Env env) {
        String name = env.string("RELAY_NAME", null);
        if (name != null && name.length() > PollerSettings.MAX_NAME_LENGTH) {
            throw new ConfigException("RELAY_NAME must be at most " + PollerSettings.MAX_NAME_LENGTH + " characters, was "
                    + name.length());
        }
        int workers = env.integer("WORKERS", DEFAULT_WORKERS, 1, PollerSettings.MAX_WORKERS);
        return new RelayConfig(
                env.httpUri("CONSUMER_URL", DEFAULT_CONSUMER_URL),
                env.oneOf("DELIVERY", DEFAULT_DELIVERY),
                env.oneOf("CLAIM_MODE", DEFAULT_CLAIM_MODE),
                ServiceSettings.from(env, ADMIN_HOST, DEFAULT_ADMIN_HOST, DEFAULT_ADMIN_PORT,
                        Math.max(DEFAULT_POOL_SIZE, workers + POOL_SIZE_BEYOND_WORKERS)),
                name,
                env.integer("BATCH_SIZE", OutboxPoller.DEFAULT_BATCH_SIZE, 1, PollerSettings.MAX_BATCH_SIZE),
                workers,
                env.millis("POLL_INTERVAL_MS", OutboxPoller.DEFAULT_POLL_INTERVAL, 1, DAY_MS),
                env.integer("MAX_ATTEMPTS", OutboxPoller.DEFAULT_MAX_ATTEMPTS, 1, 1_000),
                env.millis("LEASE_MS", OutboxPoller.DEFAULT_LEASE, 1, DAY_MS),
                env.millis("HTTP_TIMEOUT_MS", DEFAULT_HTTP_TIMEOUT, 1, DAY_MS),
                env.millis("STATEMENT_TIMEOUT_MS", OutboxPoller.DEFAULT_STATEMENT_TIMEOUT, 1,
                        PollerSettings.MAX_STATEMENT_TIMEOUT_MILLIS),
                env.integer("MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT, 1, 256),
                env.millis("BACKOFF_INITIAL_MS", OutboxPoller.DEFAULT_INITIAL_BACKOFF, 1, DAY_MS),
                env.millis("BACKOFF_MAX_MS", OutboxPoller.DEFAULT_MAX_BACKOFF, 1, DAY_MS),
                env.bool("ORDERED", true),
                env.bool("DEAD_BLOCKS_AGGREGATE", true),
                env.millis("RETENTION_PUBLISHED_MS", OutboxRetention.DEFAULT_PUBLISHED_RETENTION, 0,
                        RetentionSettings.MAX_RETENTION_MS),
                RetentionSettings.dedupWindow(env),
                RetentionSettings.interval(env),
                env.bool("RETENTION_VACUUM", false),
                BrokerSettings.sink(env),
                OutboxNamesSettings.from(env));
    }

    /** Whether delivered messages are deleted at once: {@code RETENTION_PUBLISHED_MS=0}. */
    public boolean deleteOnPublish() {
        return publishedRetention.isZero();
    }

    /**
     * An upper bound on how long after its first claim a message may still be delivered by the
     * poller: every attempt's lease plus every backoff delay (jitter only shortens them).
     */
    static Duration longestRedeliverySpan(int maxAttempts, Duration initialBackoff, Duration maxBackoff, Duration lease) {
        long total = 0;
        long delay = initialBackoff.toMillis();
        for (int attempt = 1; attempt <= maxAttempts; attempt++) {
            total = saturatedAdd(total, lease.toMillis());
            if (attempt < maxAttempts) {
                total = saturatedAdd(total, Math.min(delay, maxBackoff.toMillis()));
                delay = delay > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : delay * 2;
            }
        }
        return Duration.ofMillis(total);
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        return sum < 0 ? Long.MAX_VALUE : sum;
    }
}
