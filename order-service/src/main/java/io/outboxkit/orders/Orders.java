package io.outboxkit.orders;

import io.outboxkit.app.Uuids;
import io.outboxkit.app.http.ApiError;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxWriter;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * The order operations, each inside the caller's open transaction: every change to a row of
 * {@code orders} writes its event to the outbox in that same transaction, so both commit or
 * neither does. Stateless and thread-safe.
 *
 * <p>Plain JDBC rather than Jdbi: these statements run on every request, and a statement's
 * bookkeeping in Jdbi cost the service more CPU than the driver's own work for it.
 */
final class Orders {

    /** The aggregate type of every order event. */
    static final String AGGREGATE_TYPE = "Order";
    /** The event a new order writes. */
    static final String ORDER_CREATED = "OrderCreated";

    private static final String COLUMNS = "id, user_id, amount, status, created_at";
    private static final String INSERT = "INSERT INTO orders (id, user_id, amount, status) "
            + "VALUES (?, ?, ?, 'CREATED') RETURNING " + COLUMNS;
    private static final String SELECT = "SELECT " + COLUMNS + " FROM orders WHERE id = ?";
    private static final String SELECT_STATUS = "SELECT status FROM orders WHERE id = ?";

    private final OutboxWriter outbox;

    Orders(OutboxWriter outbox) {
        this.outbox = Objects.requireNonNull(outbox, "outbox");
    }

    /** Inserts a CREATED order and writes its {@code OrderCreated} event. */
    Order create(Connection connection, UUID userId, BigDecimal amount) throws SQLException {
        Order order;
        try (PreparedStatement insert = connection.prepareStatement(INSERT)) {
            insert.setObject(1, Uuids.random());
            insert.setObject(2, userId);
            insert.setBigDecimal(3, amount);
            order = one(insert).orElseThrow(() -> new SQLException("INSERT ... RETURNING returned no row"));
        }
        outbox.write(connection, NewMessage.of(AGGREGATE_TYPE, order.id().toString(), ORDER_CREATED,
                OrderJson.created(order)));
        return order;
    }

    /**
     * Moves the order to the transition's target status and writes its event.
     *
     * @throws ApiError 404 when there is no such order, 409 when its status does not allow it
     */
    Order transition(Connection connection, UUID id, Transition transition) throws SQLException {
        // One conditional UPDATE checks the status and changes it atomically. The row lock it takes
        // is held until commit, so a concurrent change of the same order waits, and then sees the
        // new status: this is also what keeps one order's events in the outbox in write order.
        List<OrderStatus> from = List.copyOf(transition.from());
        String update = "UPDATE orders SET status = ?, updated_at = now() WHERE id = ? AND status IN ("
                + String.join(", ", Collections.nCopies(from.size(), "?")) + ") RETURNING " + COLUMNS;
        Optional<Order> changed;
        try (PreparedStatement statement = connection.prepareStatement(update)) {
            statement.setString(1, transition.target().name());
            statement.setObject(2, id);
            for (int i = 0; i < from.size(); i++) {
                statement.setString(3 + i, from.get(i).name());
            }
            changed = one(statement);
        }
        if (changed.isEmpty()) {
            throw refusal(connection, id, transition);
        }
        Order order = changed.get();
        outbox.write(connection, NewMessage.of(AGGREGATE_TYPE, order.id().toString(), transition.eventType(),
                OrderJson.transitioned(order)));
        return order;
    }

    /** The order with {@code id}, if there is one. */
    Optional<Order> find(Connection connection, UUID id) throws SQLException {
        try (PreparedStatement select = connection.prepareStatement(SELECT)) {
            select.setObject(1, id);
            return one(select);
        }
    }

    /** Why the transition did not apply: the order is missing (404) or in the wrong status (409). */
    private ApiError refusal(Connection connection, UUID id, Transition transition) throws SQLException {
        OrderStatus status;
        try (PreparedStatement select = connection.prepareStatement(SELECT_STATUS)) {
            select.setObject(1, id);
            try (ResultSet rows = select.executeQuery()) {
                if (!rows.next()) {
                    return ApiError.notFound("no order with id " + id);
                }
                status = OrderStatus.valueOf(rows.getString(1));
            }
        }
        String already = status == transition.target() ? "already " : "";
        return ApiError.conflict("cannot " + transition.verb() + " order " + id + ": it is " + already
                + status + " (" + transition.verb() + " is allowed only from " + allowed(transition) + ")");
    }

    /** The order that {@code statement} (selecting or returning {@link #COLUMNS}) yields, if any. */
    private static Optional<Order> one(PreparedStatement statement) throws SQLException {
        try (ResultSet rows = statement.executeQuery()) {
            if (!rows.next()) {
                return Optional.empty();
            }
            return Optional.of(new Order(
                    rows.getObject(1, UUID.class),
                    rows.getObject(2, UUID.class),
                    rows.getBigDecimal(3),
                    OrderStatus.valueOf(rows.getString(4)),
                    rows.getObject(5, OffsetDateTime.class).toInstant()));
        }
    }

    private static String allowed(Transition transition) {
        return String.join(" or ", transition.from().stream().map(Enum::name).sorted().toList());
    }
}
