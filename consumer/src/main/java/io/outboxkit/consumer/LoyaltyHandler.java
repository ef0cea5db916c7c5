package io.outboxkit.consumer;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.MessageHandler;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loyalty effect of each order event, written in the message's transaction:
 * {@code OrderCreated} counts the order and its amount for the customer and marks the order
 * CREATED; {@code OrderPaid} and {@code OrderCancelled} mark it PAID or CANCELLED. Any other event
 * type has no effect (it is still recorded as processed). A payload it cannot apply throws
 * {@link InvalidPayloadException}. Thread-safe.
 */
final class LoyaltyHandler implements MessageHandler {

    private static final Logger LOG = LoggerFactory.getLogger(LoyaltyHandler.class);

    private final LoyaltyStore store;

    LoyaltyHandler(LoyaltyStore store) {
        this.store = store;
    }

    @Override
    public void handle(Handle tx, OutboxMessage message) throws InvalidPayloadException {
        switch (message.eventType()) {
            case "OrderCreated" -> {
                OrderEvent event = OrderEvent.created(message);
                store.addOrder(tx, event.userId(), event.amount());
                applyStatus(tx, message, event, "CREATED");
            }
            case "OrderPaid" -> applyStatus(tx, message, OrderEvent.statusChange(message), "PAID");
            case "OrderCancelled" -> applyStatus(tx, message, OrderEvent.statusChange(message), "CANCELLED");
            default -> LOG.info("no effect for {} message {}: not an event type this consumer applies",
                    message.eventType(), message.id());
        }
    }

    private void applyStatus(Handle tx, OutboxMessage message, OrderEvent event, String status) {
        if (store.applyStatus(tx, message.id(), event, status, message.sequence()) == LoyaltyStore.Applied.OUT_OF_ORDER) {
            LOG.warn("ORDERING VIOLATION: {} message {} for order {} has sequence {}, older than the last applied; "
                    + "status not changed", message.eventType(), message.id(), event.orderId(), message.sequence());
        }
    }
}
