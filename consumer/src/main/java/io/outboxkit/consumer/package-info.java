/**
 * The loyalty service: a downstream consumer that applies each order event exactly once.
 *
 * <p>{@link io.outboxkit.consumer.ConsumerApp} serves the HTTP API the relay delivers to;
 * {@link io.outboxkit.consumer.ConsumerMain} runs it as a process. Its effects (customer totals and
 * its own view of each order's status) commit in the same transaction as the processed-message
 * record, through {@link io.outboxkit.core.IdempotentHandler}.
 */
package io.outboxkit.consumer;
