package io.outboxkit.app.broker;

import java.util.Locale;

/**
 * Where messages travel between the relay and the consumer: {@code SINK} (the relay) and
 * {@code SOURCE} (the consumer) name one of these, in any case.
 */
public enum Broker {
    /** The relay POSTs to the consumer's HTTP API (the default). */
    HTTP,
    /** Apache Kafka (outbox-kafka). */
    KAFKA,
    /** RabbitMQ (outbox-rabbitmq). */
    RABBITMQ,
    /** NATS JetStream (outbox-nats). */
    NATS;

    /** The name as the environment spells it: {@code http}, {@code kafka}, {@code rabbitmq}, {@code nats}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
