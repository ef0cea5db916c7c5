/**
 * outbox-rabbitmq: RabbitMQ for the outbox. Exports {@code io.outboxkit.rabbitmq}: a
 * {@link io.outboxkit.core.spi.MessagePublisher} and a {@link io.outboxkit.core.spi.MessageSource}.
 */
@SuppressWarnings("requires-automatic") // amqp-client names its module in its manifest only
module io.outboxkit.rabbitmq {
    requires transitive io.outboxkit.core;
    requires com.rabbitmq.client;
    requires org.slf4j;

    exports io.outboxkit.rabbitmq;
}
