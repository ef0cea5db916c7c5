package io.outboxkit.orders;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.app.Jsons;

/**
 * The JSON forms of an order: the API's response and the events' payloads. Field names are
 * snake_case; the amount is a JSON number with the stored scale (e.g. {@code 100.00}); times are
 * ISO-8601 instants.
 */
final class OrderJson {

    private OrderJson() {
    }

    /** {@code {"id","user_id","amount","status","created_at"}}: what the API answers. */
    static String response(Order order) {
        ObjectNode node = Jsons.mapper().createObjectNode();
        node.put("id", order.id().toString());
        node.put("user_id", order.userId().toString());
        node.put("amount", order.amount());
        node.put("status", order.status().name());
        node.put("created_at", order.createdAt().toString());
        return write(node);
    }

    /** {@code {"order_id","user_id","amount","status","created_at"}}: the OrderCreated payload. */
    static String created(Order order) {
        ObjectNode node = changed(order);
        node.put("created_at", order.createdAt().toString());
        return write(node);
    }

    /** {@code {"order_id","user_id","amount","status"}}: the OrderPaid and OrderCancelled payload. */
    static String transitioned(Order order) {
        return write(changed(order));
    }

    private static ObjectNode changed(Order order) {
        ObjectNode node = Jsons.mapper().createObjectNode();
        node.put("order_id", order.id().toString());
        node.put("user_id", order.userId().toString());
        node.put("amount", order.amount());
        node.put("status", order.status().name());
        return node;
    }

    private static String write(ObjectNode node) {
        try {
            return Jsons.mapper().writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("an order did not serialize to JSON", e);
        }
    }
}
