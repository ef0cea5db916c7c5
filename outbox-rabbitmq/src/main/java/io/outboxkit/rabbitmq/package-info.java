/**
 * RabbitMQ for the outbox: {@link io.outboxkit.rabbitmq.RabbitMqPublisher} puts outbox messages on a
 * durable topic exchange and counts one delivered only when the broker confirmed it;
 * {@link io.outboxkit.rabbitmq.RabbitMqSource} reads them from a queue bound to that exchange, in
 * batches, in order per aggregate, acknowledging each only after the application applied it.
 * Everything else in this package is internal.
 */
package io.outboxkit.rabbitmq;
