package io.outboxkit.spring.autoconfigure;

import io.outboxkit.kafka.KafkaPublisher;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The Kafka publisher the starter makes when outbox-kafka is on the class path and
 * {@code outboxkit.kafka.bootstrap-servers} is set (see {@link KafkaPublisher} for what it
 * guarantees: idempotent producer, acks=all, the aggregate id as key). Checked by the publisher's
 * builder at start; a bad value stops the start naming its property. Immutable.
 *
 * @param bootstrapServers the brokers, {@code host:9092[,host:9092...]}
 * @param topic            the topic of each message: a name, or a template with
 *                         {@code {aggregate_type}} and {@code {event_type}} placeholders
 * @param clientId         the producer's client.id, as the brokers' logs and quotas see it
 * @param deliveryTimeout  how long a batch waits for the brokers' acknowledgements; keep it well below
 *                         outboxkit.lease
 */
@ConfigurationProperties("outboxkit.kafka")
public record OutboxKafkaProperties(String bootstrapServers,
                                    @DefaultValue(KafkaPublisher.DEFAULT_TOPIC_TEMPLATE) String topic,
                                    @DefaultValue(KafkaPublisher.DEFAULT_CLIENT_ID) String clientId,
                                    @DefaultValue("10s") Duration deliveryTimeout) {
}
