package io.outboxkit.consumer;

import io.outboxkit.app.Database;
import io.outboxkit.app.DatabaseSettings;
import io.outboxkit.app.Env;
import io.outboxkit.app.RetentionTask;
import io.outboxkit.app.ServiceMain;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.app.ServiceSettings;
import io.outboxkit.app.broker.Broker;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxRetention;
import io.outboxkit.core.spi.MessageSource;

/**
 * Runs the loyalty consumer as a process.
 *
 * <p>Environment: {@code DB_URL}, {@code DB_USER}, {@code DB_PASSWORD} (see {@link DatabaseSettings});
 * {@code PORT} (default 8081), {@code BIND_HOST} (default 0.0.0.0), {@code DB_POOL_SIZE} (default 16),
 * each as {@link io.outboxkit.app.ServiceSettings} accepts them; {@code CONSUMER_NAME} (default
 * {@code loyalty}: the name processed messages are recorded under); {@code SOURCE} ({@code http}, the
 * default: messages come over HTTP only; {@code kafka}, {@code rabbitmq} or {@code nats}: also from that
 * broker, with its variables, see {@link io.outboxkit.app.broker.BrokerSettings}); {@code RETENTION_DEDUP_MS}
 * (default 30 days) and {@code RETENTION_INTERVAL_MS} (default 60 s): every interval the consumer deletes
 * the processed-message records in its database older than the window, and only those (see
 * {@link io.outboxkit.app.RetentionSettings}); {@code SHUTDOWN_DELAY_MS} (default 0: how long a stopping
 * consumer keeps serving with {@code /health/ready} answering 503 before it drains, see
 * {@link io.outboxkit.app.ProbeSettings}); {@code OUTBOX_SCHEMA}, {@code OUTBOX_TABLE}, {@code PROCESSED_TABLE}
 * and {@code OUTBOX_CHANNEL} (default {@link OutboxNames#DEFAULT}): the processed-messages table it records
 * in, read and checked as the relay reads them (see {@link io.outboxkit.app.OutboxNamesSettings}), so that a
 * consumer sharing the relay's database keeps its records where the relay trims them; {@code METRICS} and the
 * {@code OTEL_*} variables (see {@link Observability}). A bad setting, an unreachable database or a broker
 * that cannot be used ends the process with one line on stderr and exit status 2; SIGTERM stops the broker
 * source (its batch in hand finished and acknowledged), the HTTP server, retention, then the pool.
 */
public final class ConsumerMain {

    /** What the consumer migrates at start with the default names: {@link #schema(OutboxNames)} of {@link OutboxNames#DEFAULT}. */
    public static final ServiceSchema SCHEMA = schema(OutboxNames.DEFAULT);

    private ConsumerMain() {
    }

    /**
     * What the consumer migrates at start: outbox-core's tables under {@code names} (its
     * processed-messages table among them), then its customers' and orders' views, in the
     * connection's current schema whatever {@code names}' schema.
     */
    public static ServiceSchema schema(OutboxNames names) {
        return ServiceSchema.withOwnTables(names, "consumer", "classpath:db/consumer");
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
            database = Database.open(DatabaseSettings.from(env), "consumer", config.service().poolSize(),
                    schema(config.names()));
        } catch (RuntimeException e) {
            observability.close();
            throw e;
        }
        MessageSource source = null;
        try {
            observability.trackPool(database);
            source = config.source().broker() == Broker.HTTP ? null : config.source().openSource();
            ConsumerApp app = ConsumerApp.start(database, config.names(), config.consumerName(), config.service().host(),
                    config.service().port(), observability, source, config.source().broker(), config.probes());
            // Its own database's records are the consumer's to trim: no relay need share that database.
            RetentionTask retention = RetentionTask.start(config.consumerName(), config.retentionInterval(),
                    OutboxRetention.builder(database.jdbi()).names(config.names()).dedupWindow(config.dedupWindow())
                            .processedMessagesOnly(true).build());
            return () -> {
                app.close();
                retention.close();
                database.close();
                observability.close();
            };
        } catch (RuntimeException e) {
            if (source != null) {
                source.close(); // closing twice does nothing
            }
            database.close();
            observability.close();
            throw config.service().explainStartFailure(ServiceSettings.BIND_HOST, e);
        }
    }
}
