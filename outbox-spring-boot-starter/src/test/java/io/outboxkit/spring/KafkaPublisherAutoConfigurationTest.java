package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.kafka.KafkaPublisher;
import io.outboxkit.spring.autoconfigure.OutboxKafkaAutoConfiguration;
import io.outboxkit.spring.autoconfigure.OutboxNatsAutoConfiguration;
import io.outboxkit.spring.autoconfigure.OutboxRabbitMqAutoConfiguration;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.NestedExceptionUtils;

/**
 * The Kafka publisher from properties: made and wired, not delivering (the Kafka producer connects on
 * its first batch; the modules' own tests deliver to a real broker). The poller runs (with
 * outboxkit.poller.enabled=false no publisher is made) on an outbox nothing writes to, so nothing here
 * reaches for a broker.
 */
class KafkaPublisherAutoConfigurationTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY);

    private static ApplicationContextRunner context() {
        return Contexts.on(db, OutboxKafkaAutoConfiguration.class, OutboxRabbitMqAutoConfiguration.class,
                        OutboxNatsAutoConfiguration.class)
                .withPropertyValues("outboxkit.kafka.bootstrap-servers=127.0.0.1:9");
    }

    @Test
    void the_kafka_properties_make_the_applications_message_publisher_with_their_topic() {
        context().withPropertyValues("outboxkit.kafka.topic=orders.{event_type}", "outboxkit.kafka.client-id=orders-svc")
                .run(context -> {
                    assertThat(context).hasSingleBean(MessagePublisher.class);
                    assertThat(context.getBean(MessagePublisher.class)).isInstanceOf(KafkaPublisher.class);
                    assertThat(context.getBean(KafkaPublisher.class).toString())
                            .contains("orders.{event_type}", "orders-svc");
                });
    }

    @Test
    void a_kafka_topic_the_publisher_refuses_fails_the_start_naming_the_property() {
        context().withPropertyValues("outboxkit.kafka.topic=orders.{nope}").run(context -> {
            assertThat(context).hasFailed();
            Throwable cause = NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure());
            assertThat(cause).isInstanceOf(InvalidConfigurationPropertyValueException.class);
            assertThat(cause.getMessage()).contains("outboxkit.kafka.topic 'orders.{nope}' has an unknown placeholder");
        });
    }

    @Test
    void a_second_broker_configured_beside_kafka_fails_the_start_naming_both_properties() {
        context().withPropertyValues("outboxkit.rabbitmq.uri=amqp://guest:guest@127.0.0.1:9/%2F").run(context -> {
            assertThat(context).hasFailed();
            Throwable cause = NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure());
            assertThat(cause).hasMessageContaining(
                    "outboxkit.kafka.bootstrap-servers and outboxkit.rabbitmq.uri are set together; configure one broker publisher");
        });
    }
}
