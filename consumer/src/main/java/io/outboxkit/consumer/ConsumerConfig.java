package io.outboxkit.consumer;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import io.outboxkit.app.OutboxNamesSettings;
import io.outboxkit.app.ProbeSettings;
import io.outboxkit.app.RetentionSettings;
import io.outboxkit.app.ServiceSettings;
import io.outboxkit.app.broker.BrokerSettings;
import io.outboxkit.core.OutboxNames;
import java.time.Duration;

/**
 * The consumer's settings besides the database: {@code BIND_HOST}, {@code PORT} and
 * {@code DB_POOL_SIZE} (see {@link ServiceSettings}), {@code CONSUMER_NAME}, and {@code SOURCE} with its
 * broker's variables (see {@link BrokerSettings}; the consumer name names the Kafka group, the
 * RabbitMQ queue or the NATS durable consumer), and {@code RETENTION_DEDUP_MS} and
 * {@code RETENTION_INTERVAL_MS}: how long its processed-message records are kept, and how often
 * those past it are deleted (see {@link RetentionSettings}); {@code HEALTH_PORT}, a port of their own
 * for the health checks, and {@code SHUTDOWN_DELAY_MS}, how long a stopping consumer keeps serving,
 * unready, before it drains (see {@link ProbeSettings}); {@code OUTBOX_SCHEMA}, {@code OUTBOX_TABLE},
 * {@code PROCESSED_TABLE} and {@code OUTBOX_CHANNEL}: the outbox whose processed-messages table it
 * migrates, records in, deduplicates against and trims, read and checked as the relay reads them
 * (see {@link OutboxNamesSettings}).
 */
record ConsumerConfig(ServiceSettings service, String consumerName, BrokerSettings source, Duration dedupWindow,
                      Duration retentionInterval, ProbeSettings probes, OutboxNames names) {

    static final int DEFAULT_PORT = 8081;
    static final String DEFAULT_NAME = "loyalty";
    static final int DEFAULT_POOL_SIZE = 16;
    static final int MAX_NAME_LENGTH = 100;

    /**
     * Reads the settings, each with its default.
     *
     * @throws ConfigException naming the first bad variable
     */
    static ConsumerConfig from(Env env) {
        String name = env.string("CONSUMER_NAME", DEFAULT_NAME);
        if (name.length() > MAX_NAME_LENGTH) {
            throw new ConfigException("CONSUMER_NAME must be at most " + MAX_NAME_LENGTH + " characters, was "
                    + name.length());
        }
        ServiceSettings service = ServiceSettings.from(env, ServiceSettings.BIND_HOST, ServiceSettings.DEFAULT_BIND_HOST,
                DEFAULT_PORT, DEFAULT_POOL_SIZE);
        return new ConsumerConfig(service, name, BrokerSettings.source(env, name),
                RetentionSettings.dedupWindow(env), RetentionSettings.interval(env), ProbeSettings.from(env, service),
                OutboxNamesSettings.from(env));
    }
}
