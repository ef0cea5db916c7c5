package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import io.outboxkit.app.ProbeSettings;
import io.outboxkit.app.RetentionSettings;
import io.outboxkit.app.ServiceSettings;
import io.outboxkit.app.broker.Broker;
import io.outboxkit.app.broker.BrokerSettings;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxRetention;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The consumer's settings: defaults, and one clear message naming a bad variable. */
class ConsumerConfigTest {

    @Test
    void defaults() {
        ConsumerConfig config = ConsumerConfig.from(Env.of(Map.of()));

        assertThat(config).isEqualTo(new ConsumerConfig(new ServiceSettings("0.0.0.0", 8081, 16), "loyalty",
                BrokerSettings.source(Env.of(Map.of()), "loyalty"), OutboxRetention.DEFAULT_DEDUP_WINDOW,
                RetentionSettings.DEFAULT_INTERVAL, ProbeSettings.DEFAULT, OutboxNames.DEFAULT));
        assertThat(config.source().broker()).isEqualTo(Broker.HTTP);
    }

    @Test
    void every_setting_can_be_given() {
        ConsumerConfig config = ConsumerConfig.from(Env.of(Map.of(
                "BIND_HOST", "127.0.0.1", "PORT", "9000", "CONSUMER_NAME", "analytics", "DB_POOL_SIZE", "4",
                "RETENTION_DEDUP_MS", "86400000", "RETENTION_INTERVAL_MS", "5000", "SHUTDOWN_DELAY_MS", "3000", "HEALTH_PORT", "9001")));

        assertThat(config.service()).isEqualTo(new ServiceSettings("127.0.0.1", 9000, 4));
        assertThat(config.consumerName()).isEqualTo("analytics");
        assertThat(config.dedupWindow()).isEqualTo(Duration.ofDays(1));
        assertThat(config.retentionInterval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.probes()).isEqualTo(new ProbeSettings(9001, Duration.ofSeconds(3)));
    }

    @Test
    void source_chooses_the_broker_and_the_consumer_name_names_the_group_queue_or_durable() {
        ConsumerConfig config = ConsumerConfig.from(Env.of(Map.of("SOURCE", "rabbitmq", "CONSUMER_NAME", "analytics",
                "RABBITMQ_EXCHANGE", "events")));

        assertThat(config.source().broker()).isEqualTo(Broker.RABBITMQ);
        assertThat(config.source().consumerName()).isEqualTo("analytics");
        assertThat(config.source().rabbitMqExchange()).isEqualTo("events");
    }

    @Test
    void an_unknown_source_is_refused_naming_the_allowed_values() {
        assertThatThrownBy(() -> ConsumerConfig.from(Env.of(Map.of("SOURCE", "kinesis"))))
                .isInstanceOf(ConfigException.class)
                .hasMessage("SOURCE=kinesis is not http, kafka, rabbitmq or nats");
    }

    @Test
    void a_bad_port_is_refused_by_name() {
        assertThatThrownBy(() -> ConsumerConfig.from(Env.of(Map.of("PORT", "eighty"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("PORT=eighty");
    }

    @Test
    void a_dedup_window_of_zero_which_would_forget_every_message_at_once_is_refused_by_name() {
        assertThatThrownBy(() -> ConsumerConfig.from(Env.of(Map.of("RETENTION_DEDUP_MS", "0"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("RETENTION_DEDUP_MS=0");
    }

    @Test
    void a_bad_pool_size_is_refused_by_name() {
        assertThatThrownBy(() -> ConsumerConfig.from(Env.of(Map.of("DB_POOL_SIZE", "0"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("DB_POOL_SIZE=0");
    }
}
