package io.outboxkit.orders;

import io.outboxkit.app.Database;
import io.outboxkit.app.DatabaseSettings;
import io.outboxkit.app.Env;
import io.outboxkit.app.OutboxNamesSettings;
import io.outboxkit.app.ProbeSettings;
import io.outboxkit.app.RetentionSettings;
import io.outboxkit.app.RetentionTask;
import io.outboxkit.app.ServiceMain;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.app.ServiceSettings;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.core.OutboxNames;
import java.time.Duration;
import org.slf4j.LoggerFactory;

/**
 * The order-service process. Configured by the environment:
 * <ul>
 *   <li>{@code DB_URL}, {@code DB_USER}, {@code DB_PASSWORD}: the database (see {@link DatabaseSettings});</li>
 *   <li>{@code PORT}: the HTTP port, default {@value #DEFAULT_PORT};</li>
 *   <li>{@code BIND_HOST}: the address to listen on, default {@value ServiceSettings#DEFAULT_BIND_HOST};</li>
 *   <li>{@code DB_POOL_SIZE}: connections in the pool, default {@value #DEFAULT_POOL_SIZE};</li>
 *   <li>{@code OUTBOX_SCHEMA}, {@code OUTBOX_TABLE}, {@code PROCESSED_TABLE}, {@code OUTBOX_CHANNEL}: the
 *       outbox it migrates and writes its events to, read and checked as the relay reads them (see
 *       {@link OutboxNamesSettings}), so that both name the same outbox; default {@link OutboxNames#DEFAULT};</li>
 *   <li>{@code IDEMPOTENCY_KEY_TTL_MS}: how long the answer to an {@code Idempotency-Key} request is kept
 *       for its retries, 1 ms to 10 years, default 24 hours; a retry later than that is a new request;</li>
 *   <li>{@code RETENTION_INTERVAL_MS}: how often keys past that are deleted (see {@link RetentionSettings});</li>
 *   <li>{@code HEALTH_PORT}: a port of their own for the health checks, unset by default;
 *       {@code SHUTDOWN_DELAY_MS}: how long a stopping service keeps serving, unready, before it
 *       drains (see {@link ProbeSettings});</li>
 *   <li>{@code METRICS} and the {@code OTEL_*} variables: metrics and tracing (see {@link Observability}).</li>
 * </ul>
 * {@link ServiceSettings} says what {@code PORT}, {@code BIND_HOST} and {@code DB_POOL_SIZE} accept.
 * Applies the migrations at start. A missing or wrong setting, or an unreachable database, stops
 * the start with one line on stderr and exit status {@link ServiceMain#EXIT_START_FAILED}. On
 * SIGTERM it stops the HTTP server (unready first, see {@link OrderServiceApp#close()}), then the keys'
 * retention, then closes the pool.
 */
public final class OrderServiceMain {

    /** The service's name in logs and messages. */
    public static final String NAME = "order-service";
    /** The default {@code PORT}. */
    public static final int DEFAULT_PORT = 8080;
    /** The default {@code DB_POOL_SIZE}. */
    public static final int DEFAULT_POOL_SIZE = 16;
    /** The default {@code IDEMPOTENCY_KEY_TTL_MS}: 24 hours, a day's worth of a client's retries. */
    public static final Duration DEFAULT_IDEMPOTENCY_KEY_TTL = Duration.ofHours(24);
    /** Keys deleted per transaction by the keys' retention. */
    static final int KEY_DELETE_BATCH = 1_000;
    /** What the service migrates at start with the default names: {@link #schema(OutboxNames)} of {@link OutboxNames#DEFAULT}. */
    public static final ServiceSchema SCHEMA = schema(OutboxNames.DEFAULT);

    private OrderServiceMain() {
    }

    /**
     * What the service migrates at start: outbox-core's tables under {@code names}, then its orders
     * and idempotency keys, in the connection's current schema whatever {@code names}' schema.
     */
    public static ServiceSchema schema(OutboxNames names) {
        return ServiceSchema.withOwnTables(names, "order_service", "classpath:db/order-service");
    }

    /** Runs the service until the JVM is asked to exit. Arguments are ignored. */
    public static void main(String[] args) {
        ServiceMain.run(NAME, () -> start(Env.system()));
    }

    /** Reads every setting first, so a wrong one fails before anything connects. */
    static AutoCloseable start(Env env) {
        DatabaseSettings settings = DatabaseSettings.from(env);
        ServiceSettings service = ServiceSettings.from(env, ServiceSettings.BIND_HOST, ServiceSettings.DEFAULT_BIND_HOST,
                DEFAULT_PORT, DEFAULT_POOL_SIZE);
        Duration keyTtl = env.millis("IDEMPOTENCY_KEY_TTL_MS", DEFAULT_IDEMPOTENCY_KEY_TTL, 1,
                RetentionSettings.MAX_RETENTION_MS);
        Duration retentionInterval = RetentionSettings.interval(env);
        ProbeSettings probes = ProbeSettings.from(env, service);
        OutboxNames names = OutboxNamesSettings.from(env);
        Observability observability = Observability.start(NAME, env);
        Database database;
        try {
            database = Database.open(settings, NAME, service.poolSize(), schema(names));
        } catch (RuntimeException e) {
            observability.close();
            throw e;
        }
        observability.trackPool(database);
        OrderServiceApp app;
        try {
            app = OrderServiceApp.start(database, names, service.host(), service.port(), observability, probes);
        } catch (RuntimeException e) {
            database.close();
            observability.close();
            throw service.explainStartFailure(ServiceSettings.BIND_HOST, e);
        }
        if (app.healthPort() >= 0) {
            LoggerFactory.getLogger(NAME).info("listening on {}:{}, health checks also on port {}", service.host(), app.port(),
                    app.healthPort());
        } else {
            LoggerFactory.getLogger(NAME).info("listening on {}:{}", service.host(), app.port());
        }
        RetentionTask keyRetention = RetentionTask.start(NAME, retentionInterval, () -> {
            long deleted = IdempotencyKeys.deleteExpired(database.dataSource(), keyTtl, KEY_DELETE_BATCH);
            return deleted == 0 ? "" : deleted + " idempotency key(s)";
        });
        return () -> {
            try {
                app.close();
            } finally {
                keyRetention.close();
                database.close();
                observability.close();
            }
        };
    }
}
