package io.outboxkit.consumer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.app.Jsons;
import java.util.UUID;

/** Message envelopes as the relay sends them, for the tests to post. */
final class Envelopes {

    private Envelopes() {
    }

    static ObjectNode envelope(UUID id, long sequence, UUID orderId, String eventType, ObjectNode payload) {
        ObjectNode node = Jsons.mapper().createObjectNode();
        node.put("id", id.toString());
        node.put("sequence", sequence);
        node.put("aggregate_type", "Order");
        node.put("aggregate_id", orderId.toString());
        node.put("event_type", eventType);
        node.set("payload", payload);
        node.putObject("headers").put("trace_id", "t-1");
        node.put("created_at", "2026-11-26T15:00:00Z");
        node.put("attempts", 1);
        return node;
    }

    static ObjectNode orderCreated(UUID id, long sequence, UUID orderId, UUID userId, String amount) {
        ObjectNode payload = Jsons.mapper().createObjectNode();
        payload.put("order_id", orderId.toString());
        payload.put("user_id", userId.toString());
        payload.put("amount", new java.math.BigDecimal(amount));
        payload.put("status", "CREATED");
        return envelope(id, sequence, orderId, "OrderCreated", payload);
    }

    static ObjectNode orderPaid(UUID id, long sequence, UUID orderId) {
        return statusEvent(id, sequence, orderId, "OrderPaid");
    }

    static ObjectNode orderCancelled(UUID id, long sequence, UUID orderId) {
        return statusEvent(id, sequence, orderId, "OrderCancelled");
    }

    private static ObjectNode statusEvent(UUID id, long sequence, UUID orderId, String eventType) {
        ObjectNode payload = Jsons.mapper().createObjectNode();
        payload.put("order_id", orderId.toString());
        return envelope(id, sequence, orderId, eventType, payload);
    }
}
