package io.outboxkit.replay;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.core.OutboxMessage;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.UUID;

/**
 * A made-up {@code OrderCreated} event for a fresh order, so {@code duplicate} can be run again and
 * again without touching the database: each call gives a new message id and a new order id.
 */
final class DemoMessage {

    /** The customer every demo order belongs to. */
    static final UUID DEMO_USER_ID = UUID.fromString("550e8400-e29b-41d4-a716-446655440000");
    static final BigDecimal DEMO_AMOUNT = new BigDecimal("100.00");

    private DemoMessage() {
    }

    static OutboxMessage create() {
        UUID orderId = UUID.randomUUID();
        ObjectNode payload = Jsons.mapper().createObjectNode();
        payload.put("order_id", orderId.toString());
        payload.put("user_id", DEMO_USER_ID.toString());
        payload.put("amount", DEMO_AMOUNT);
        return new OutboxMessage(UUID.randomUUID(), 1, "Order", orderId.toString(), "OrderCreated",
                payload.toString(), Map.of(), Instant.now().truncatedTo(ChronoUnit.MILLIS), 1);
    }
}
