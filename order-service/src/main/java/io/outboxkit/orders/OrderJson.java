package io.outboxkit.orders;

/**
 * The JSON forms of an order: the API's response and the events' payloads. Field names are
 * snake_case; the amount is a JSON number with the stored scale (e.g. {@code 100.00}); times are
 * ISO-8601 instants.
 *
 * <p>Written directly rather than through a JSON library: every value is a UUID, a status name, a
 * decimal or an instant, whose text never needs escaping, and these run on every request.
 */
final class OrderJson {

    private OrderJson() {
    }

    /** {@code {"id","user_id","amount","status","created_at"}}: what the API answers. */
    static String response(Order order) {
        return fields(new StringBuilder(180).append("{\"id\":\""), order)
                .append(",\"created_at\":\"").append(order.createdAt()).append("\"}").toString();
    }

    /** {@code {"order_id","user_id","amount","status","created_at"}}: the OrderCreated payload. */
    static String created(Order order) {
        return fields(new StringBuilder(180).append("{\"order_id\":\""), order)
                .append(",\"created_at\":\"").append(order.createdAt()).append("\"}").toString();
    }

    /** {@code {"order_id","user_id","amount","status"}}: the OrderPaid and OrderCancelled payload. */
    static String transitioned(Order order) {
        return fields(new StringBuilder(150).append("{\"order_id\":\""), order).append('}').toString();
    }

    /** The order's id value, then user_id, amount (BigDecimal's own text, as a JSON number) and status. */
    private static StringBuilder fields(StringBuilder json, Order order) {
        return json.append(order.id()).append("\",\"user_id\":\"").append(order.userId())
                .append("\",\"amount\":").append(order.amount().toString())
                .append(",\"status\":\"").append(order.status().name()).append('"');
    }
}
