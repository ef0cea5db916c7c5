package io.outboxkit.orders;

import io.outboxkit.app.http.ApiError;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxWriter;
import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;

/**
 * The order operations, each inside the caller's open transaction: every change to a row of
 * {@code orders} writes its event to the outbox in that same transaction, so both commit or
 * neither does. Stateless and thread-safe.
 */
final class Orders {

    /** The aggregate type of every order event. */
    static final String AGGREGATE_TYPE = "Order";
    /** The event a new order writes. */
    static final String ORDER_CREATED = "OrderCreated";

    private static final String COLUMNS = "id, user_id, amount, status, created_at";

    private static final RowMapper<Order> ORDER = (rs, ctx) -> new Order(
            rs.getObject("id", UUID.class),
            rs.getObject("user_id", UUID.class),
            rs.getBigDecimal("amount"),
            OrderStatus.valueOf(rs.getString("status")),
            rs.getObject("created_at", OffsetDateTime.class).toInstant());

    private final OutboxWriter outbox;

    Orders(OutboxWriter outbox) {
        this.outbox = Objects.requireNonNull(outbox, "outbox");
    }

    /** Inserts a CREATED order and writes its {@code OrderCreated} event. */
    Order create(Handle handle, UUID userId, BigDecimal amount) {
        Order order = handle.createQuery("INSERT INTO orders (id, user_id, amount, status) "
                        + "VALUES (:id, :userId, :amount, 'CREATED') RETURNING " + COLUMNS)
                .bind("id", UUID.randomUUID())
                .bind("userId", userId)
                .bind("amount", amount)
                .map(ORDER)
                .one();
        outbox.write(handle, NewMessage.of(AGGREGATE_TYPE, order.id().toString(), ORDER_CREATED,
                OrderJson.created(order)));
        return order;
    }

    /**
     * Moves the order to the transition's target status and writes its event.
     *
     * @throws ApiError 404 when there is no such order, 409 when its status does not allow it
     */
    Order transition(Handle handle, UUID id, Transition transition) {
        // One conditional UPDATE checks the status and changes it atomically. The row lock it takes
        // is held until commit, so a concurrent change of the same order waits, and then sees the
        // new status: this is also what keeps one order's events in the outbox in write order.
        Optional<Order> changed = handle.createQuery("UPDATE orders SET status = :target, updated_at = now() "
                        + "WHERE id = :id AND status IN (<from>) RETURNING " + COLUMNS)
                .bind("target", transition.target().name())
                .bind("id", id)
                .bindList("from", transition.from().stream().map(Enum::name).toList())
                .map(ORDER)
                .findOne();
        if (changed.isEmpty()) {
            throw refusal(handle, id, transition);
        }
        Order order = changed.get();
        outbox.write(handle, NewMessage.of(AGGREGATE_TYPE, order.id().toString(), transition.eventType(),
                OrderJson.transitioned(order)));
        return order;
    }

    /** The order with {@code id}, if there is one. */
    Optional<Order> find(Handle handle, UUID id) {
        return handle.createQuery("SELECT " + COLUMNS + " FROM orders WHERE id = :id")
                .bind("id", id)
                .map(ORDER)
                .findOne();
    }

    /** Why the transition did not apply: the order is missing (404) or in the wrong status (409). */
    private ApiError refusal(Handle handle, UUID id, Transition transition) {
        Optional<OrderStatus> status = handle.createQuery("SELECT status FROM orders WHERE id = :id")
                .bind("id", id)
                .map((rs, ctx) -> OrderStatus.valueOf(rs.getString("status")))
                .findOne();
        if (status.isEmpty()) {
            return ApiError.notFound("no order with id " + id);
        }
        String already = status.get() == transition.target() ? "already " : "";
        return ApiError.conflict("cannot " + transition.verb() + " order " + id + ": it is " + already
                + status.get() + " (" + transition.verb() + " is allowed only from " + allowed(transition) + ")");
    }

    private static String allowed(Transition transition) {
        return String.join(" or ", transition.from().stream().map(Enum::name).sorted().toList());
    }
}
