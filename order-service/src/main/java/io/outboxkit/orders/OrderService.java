package io.outboxkit.orders;

import io.outboxkit.core.OutboxWriter;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * The order API's operations, each in one transaction: the order change, its outbox event and,
 * for a keyed request, the stored answer commit together. A retry with the same key gets the
 * stored answer and changes nothing. A refused operation (4xx) rolls back and stores nothing.
 * Thread-safe.
 */
final class OrderService {

    private final Jdbi jdbi;
    private final Orders orders;
    private final OrderMetrics metrics;

    OrderService(Jdbi jdbi, OutboxWriter outbox, OrderMetrics metrics) {
        this.jdbi = Objects.requireNonNull(jdbi, "jdbi");
        this.orders = new Orders(outbox);
        this.metrics = Objects.requireNonNull(metrics, "metrics");
    }

    /** Places an order: 201 and the order. */
    Reply create(CreateOrderRequest request, Optional<IdempotentRequest> key) {
        Reply reply = inTransaction(key, handle -> Reply.of(201,
                OrderJson.response(orders.create(handle, request.userId(), request.amount()))));
        if (!reply.replayed()) {
            metrics.orderCreated();
        }
        return reply;
    }

    /** Applies {@code transition} to order {@code id}: 200 and the order; 404 or 409 as {@code ApiError}. */
    Reply transition(UUID id, Transition transition, Optional<IdempotentRequest> key) {
        Reply reply = inTransaction(key, handle -> Reply.of(200, OrderJson.response(orders.transition(handle, id, transition))));
        if (!reply.replayed()) {
            metrics.transitioned(transition);
        }
        return reply;
    }

    /** The order with {@code id}, if there is one. */
    Optional<Order> find(UUID id) {
        return jdbi.withHandle(handle -> orders.find(handle, id));
    }

    private Reply inTransaction(Optional<IdempotentRequest> key, Work work) {
        return jdbi.inTransaction(handle -> {
            if (key.isPresent()) {
                Optional<Reply> earlier = IdempotencyKeys.claim(handle, key.get());
                if (earlier.isPresent()) {
                    return earlier.get();
                }
            }
            Reply reply = work.apply(handle);
            key.ifPresent(k -> IdempotencyKeys.record(handle, k, reply));
            return reply;
        });
    }

    /** The part of an operation that changes orders, inside its transaction. */
    @FunctionalInterface
    private interface Work {
        Reply apply(Handle handle);
    }
}
