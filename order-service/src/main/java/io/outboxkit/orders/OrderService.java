package io.outboxkit.orders;

import io.outboxkit.core.OutboxWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The order API's operations, each in one transaction: the order change, its outbox event and,
 * for a keyed request, the stored answer commit together. A retry with the same key gets the
 * stored answer and changes nothing. A refused operation (4xx) rolls back and stores nothing.
 * A failure of the database surfaces as a {@link DatabaseException} whose cause is the driver's
 * (or the pool's) {@link SQLException}. Thread-safe.
 */
final class OrderService {

    private final DataSource dataSource;
    private final Orders orders;
    private final OrderMetrics metrics;

    OrderService(DataSource dataSource, OutboxWriter outbox, OrderMetrics metrics) {
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
        this.orders = new Orders(outbox);
        this.metrics = Objects.requireNonNull(metrics, "metrics");
    }

    /** Places an order: 201 and the order. */
    Reply create(CreateOrderRequest request, Optional<IdempotentRequest> key) {
        Reply reply = inTransaction(key, connection -> Reply.of(201,
                OrderJson.response(orders.create(connection, request.userId(), request.amount()))));
        if (!reply.replayed()) {
            metrics.orderCreated();
        }
        return reply;
    }

    /** Applies {@code transition} to order {@code id}: 200 and the order; 404 or 409 as {@code ApiError}. */
    Reply transition(UUID id, Transition transition, Optional<IdempotentRequest> key) {
        Reply reply = inTransaction(key, connection -> Reply.of(200,
                OrderJson.response(orders.transition(connection, id, transition))));
        if (!reply.replayed()) {
            metrics.transitioned(transition);
        }
        return reply;
    }

    /** The order with {@code id}, if there is one. */
    Optional<Order> find(UUID id) {
        try (Connection connection = dataSource.getConnection()) {
            return orders.find(connection, id);
        } catch (SQLException e) {
            throw new DatabaseException(e);
        }
    }

    private Reply inTransaction(Optional<IdempotentRequest> key, Work work) {
        try (Connection connection = dataSource.getConnection()) {
            connection.setAutoCommit(false);
            Reply reply;
            try {
                reply = keyed(connection, key, work);
            } catch (Throwable e) {
                rollback(connection, e);
                throw e;
            }
            connection.commit();
            return reply;
        } catch (SQLException e) {
            throw new DatabaseException(e);
        }
    }

    private static Reply keyed(Connection connection, Optional<IdempotentRequest> key, Work work) throws SQLException {
        if (key.isPresent()) {
            Optional<Reply> earlier = IdempotencyKeys.claim(connection, key.get());
            if (earlier.isPresent()) {
                return earlier.get();
            }
        }
        Reply reply = work.apply(connection);
        if (key.isPresent()) {
            IdempotencyKeys.record(connection, key.get(), reply);
        }
        return reply;
    }

    /** Rolls back after {@code cause}; a failure to do so is added to it (the pool rolls back on close anyway). */
    private static void rollback(Connection connection, Throwable cause) {
        try {
            connection.rollback();
        } catch (SQLException | RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    /** The part of an operation that changes orders, inside its transaction. */
    @FunctionalInterface
    private interface Work {
        Reply apply(Connection connection) throws SQLException;
    }

    /** The database failed an operation (unreachable, or refused a statement): the cause says how. */
    static final class DatabaseException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        DatabaseException(SQLException cause) {
            super(cause.getMessage(), cause);
        }
    }
}
