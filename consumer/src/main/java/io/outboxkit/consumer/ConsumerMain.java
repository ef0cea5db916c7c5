package io.outboxkit.consumer;

import io.outboxkit.app.Database;
import io.outboxkit.app.DatabaseSettings;
import io.outboxkit.app.Env;
import io.outboxkit.app.ServiceMain;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.core.OutboxNames;

/**
 * Runs the loyalty consumer as a process.
 *
 * <p>Environment: {@code DB_URL}, {@code DB_USER}, {@code DB_PASSWORD} (see {@link DatabaseSettings});
 * {@code PORT} (default 8081), {@code BIND_HOST} (default 0.0.0.0), {@code DB_POOL_SIZE} (default 16),
 * each as {@link io.outboxkit.app.ServiceSettings} accepts them; {@code CONSUMER_NAME} (default
 * {@code loyalty}: the name processed messages are recorded under); {@code METRICS} and the
 * {@code OTEL_*} variables (see {@link Observability}). A bad setting or an unreachable database ends the process
 * with one line on stderr and exit status 2; SIGTERM stops the HTTP server, then the pool.
 */
public final class ConsumerMain {

    /** What the consumer migrates at start: outbox-core's tables, then its customers' and orders' views. */
    public static final ServiceSchema SCHEMA = ServiceSchema.withOwnTables(OutboxNames.DEFAULT, "consumer",
            "classpath:db/consumer");

    private ConsumerMain() {
    }

    /** Starts the consumer and blocks until the process is asked to stop. */
    public static void main(String[] args) {
        ServiceMain.run("consumer", () -> start(Env.system()));
    }

    /** Opens the database and starts the app; the result closes both, the server first. */
    static AutoCloseable start(Env env) {
        ConsumerConfig config = ConsumerConfig.from(env);
        Observability observability = Observability.start("consumer", env);
        Database database;
        try {
            database = Database.open(DatabaseSettings.from(env), "consumer", config.service().poolSize(), SCHEMA);
        } catch (RuntimeException e) {
            observability.close();
            throw e;
        }
        try {
            observability.trackPool(database);
            ConsumerApp app = ConsumerApp.start(database, config.consumerName(), config.service().host(),
                    config.service().port(), observability);
            return () -> {
                app.close();
                database.close();
                observability.close();
            };
        } catch (RuntimeException e) {
            database.close();
            observability.close();
            throw e;
        }
    }
}
