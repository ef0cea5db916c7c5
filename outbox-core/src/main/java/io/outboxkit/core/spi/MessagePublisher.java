package io.outboxkit.core.spi;

import io.outboxkit.core.OutboxMessage;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Delivers outbox messages to the world (a broker, an HTTP endpoint, ...). Implemented by the
 * application and called by {@link io.outboxkit.core.OutboxPoller} outside any database
 * transaction.
 *
 * <p>Delivery is at least once: a message may be handed over again after a crash, a timeout or
 * an expired lease, so the receiving side must be idempotent (see
 * {@link io.outboxkit.core.IdempotentHandler}). An implementation should bound each delivery with
 * a timeout shorter than the poller's lease.
 *
 * <p>A failure may say why with a {@link PublishException} (timeout, refused, unavailable: see
 * {@link FailureReason}), which metrics count it under. A message's headers carry the W3C
 * {@code traceparent} (and {@code tracestate}) of the poller's PRODUCER span for it when tracing is
 * on: a publisher that copies the headers onto what it sends carries the trace on.
 */
@FunctionalInterface
public interface MessagePublisher {

    /**
     * Delivers one message. Returning normally means it was delivered; throwing means it was not,
     * and it will be retried with backoff (the exception's message is recorded as its last error).
     */
    void publish(OutboxMessage message) throws Exception;

    /**
     * Delivers a batch and reports which messages failed. The default delivers one by one, in list
     * order; override it to deliver a batch in one round trip.
     *
     * <p>When the poller keeps order per aggregate, a batch holds at most one message per
     * aggregate, so the messages of a batch may be delivered in any order or in parallel.
     *
     * @return the failures, by message id: every message of the batch not in the map was delivered
     *     (an id of no message of the batch is ignored).
     *     A message in the map failed even when its value is null (recorded with an
     *     {@code IllegalStateException} saying the publisher gave no exception); one whose value
     *     is a {@link NotSentException} never left, and is given back without spending an attempt.
     *     Returning null, or throwing, fails the whole batch.
     */
    default Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        for (OutboxMessage message : batch) {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException("interrupted while publishing a batch");
            }
            try {
                publish(message);
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                failures.put(message.id(), e);
            }
        }
        return failures;
    }

    /**
     * Whether the publisher can reach where it delivers to, for a health check (a broker
     * connection, say). True unless an implementation knows better; it never blocks for long.
     */
    default boolean isConnected() {
        return true;
    }

    /**
     * The messaging system delivered to, for tracing: the {@code messaging.system} attribute of
     * the poller's PRODUCER spans ({@code kafka}, {@code rabbitmq}, {@code nats}, ...). Default
     * {@value #DEFAULT_MESSAGING_SYSTEM}.
     */
    default String messagingSystem() {
        return DEFAULT_MESSAGING_SYSTEM;
    }

    /**
     * The name of the publishing operation in this system, for tracing: the
     * {@code messaging.operation.name} attribute and the first word of the span's name
     * ({@code send} for Kafka, {@code publish} for RabbitMQ and NATS). Default {@code send}.
     */
    default String operationName() {
        return "send";
    }

    /**
     * Where {@code message} goes, for tracing: the {@code messaging.destination.name} attribute
     * and the rest of the span's name (a topic, an exchange, a subject). It must take few
     * distinct values: never a message id. Default: the message's aggregate type.
     */
    default String destinationName(OutboxMessage message) {
        return message.aggregateType();
    }

    /** The {@link #messagingSystem()} of a publisher that does not say: {@value}. */
    String DEFAULT_MESSAGING_SYSTEM = "outboxkit";
}
