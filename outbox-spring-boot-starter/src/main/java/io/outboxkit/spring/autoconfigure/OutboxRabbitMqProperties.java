package io.outboxkit.spring.autoconfigure;

import io.outboxkit.rabbitmq.RabbitMqPublisher;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The RabbitMQ publisher the starter makes when outbox-rabbitmq is on the class path and
 * {@code outboxkit.rabbitmq.uri} is set (see {@link RabbitMqPublisher} for what it guarantees).
 * Checked by the publisher's builder at start; a bad value stops the start naming its property.
 * Immutable.
 *
 * @param uri      the broker: {@code amqp://user:password@host:5672/vhost} ({@code /%2F} is the
 *                 virtual host {@code /}), or {@code amqps://...} for TLS
 * @param exchange the durable topic exchange messages are published to (declared if absent); routing
 *                 key {@code <aggregate_type>.<event_type>}; a message no queue is bound for fails
 * @param timeout  how long a batch waits for the broker's confirms; keep it well below outboxkit.lease
 */
@ConfigurationProperties("outboxkit.rabbitmq")
public record OutboxRabbitMqProperties(String uri,
                                       @DefaultValue(RabbitMqPublisher.DEFAULT_EXCHANGE) String exchange,
                                       @DefaultValue("10s") Duration timeout) {
}
