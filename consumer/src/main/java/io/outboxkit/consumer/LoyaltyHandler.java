package io.outboxkit.consumer;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.MessageHandler;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loyalty effect of each order event, written in the message's transaction:
 * {@code OrderCreated} counts the order and its amount for the customer and marks the order
 * CREATED; {@code OrderPaid} and {@code OrderCancelled} mark it PAID or CANCELLED. Any other event
 * type has no effect (it is still recorded as processed). A payload it cannot apply, or an order
 * that would take its customer's total beyond what the table holds, throws
 * {@link InvalidPayloadException}. Thread-safe.
 *
 * <p>A batch is applied in two set-based statements (customers' totals, orders' statuses), each
 * locking its rows in key order, so two overlapping batches wait for each other instead of
 * deadlocking; the effect is the same as applying the messages one by one in list order.
 */
final class LoyaltyHandler implements MessageHandler {

    private static final Logger LOG = LoggerFactory.getLogger(LoyaltyHandler.class);

    private final LoyaltyStore store;
    private final ParsedPayloads parsed;

    /** A handler that takes the payloads {@code parsed} holds for a request's messages instead of parsing them again. */
    LoyaltyHandler(LoyaltyStore store, ParsedPayloads parsed) {
        this.store = store;
        this.parsed = parsed;
    }

    @Override
    public void handle(Handle tx, OutboxMessage message) throws InvalidPayloadException {
        switch (message.eventType()) {
            case "OrderCreated" -> {
                OrderEvent event = OrderEvent.created(message, parsed.get(message));
                if (!store.addOrder(tx, event.userId(), event.amount())) {
                    throw new InvalidPayloadException("payload of OrderCreated message " + message.id() + " is invalid: "
                            + "customer " + event.userId() + "'s total would exceed " + LoyaltyStore.MAX_TOTAL.toPlainString());
                }
                applyStatus(tx, message, event, "CREATED");
            }
            case "OrderPaid" -> applyStatus(tx, message, OrderEvent.statusChange(message, parsed.get(message)), "PAID");
            case "OrderCancelled" -> applyStatus(tx, message, OrderEvent.statusChange(message, parsed.get(message)),
                    "CANCELLED");
            default -> LOG.info("no effect for {} message {}: not an event type this consumer applies",
                    message.eventType(), message.id());
        }
    }

    /**
     * Applies the batch with one statement per table. Reads every payload first, so a bad one throws
     * before anything is written. A batch with two status events of one order (possible only with
     * ordering off) is applied one message at a time, in list order.
     */
    @Override
    public void handleAll(Handle tx, List<OutboxMessage> messages) throws Exception {
        Map<UUID, LoyaltyStore.CustomerDelta> customers = new TreeMap<>();
        List<LoyaltyStore.StatusChange> statuses = new ArrayList<>(messages.size());
        Set<UUID> orders = new HashSet<>();
        for (OutboxMessage message : messages) {
            OrderEvent event;
            String status;
            switch (message.eventType()) {
                case "OrderCreated" -> {
                    event = OrderEvent.created(message, parsed.get(message));
                    status = "CREATED";
                    customers.merge(event.userId(), new LoyaltyStore.CustomerDelta(1, event.amount()),
                            LoyaltyStore.CustomerDelta::plus);
                }
                case "OrderPaid" -> {
                    event = OrderEvent.statusChange(message, parsed.get(message));
                    status = "PAID";
                }
                case "OrderCancelled" -> {
                    event = OrderEvent.statusChange(message, parsed.get(message));
                    status = "CANCELLED";
                }
                default -> {
                    LOG.info("no effect for {} message {}: not an event type this consumer applies",
                            message.eventType(), message.id());
                    continue;
                }
            }
            if (!orders.add(event.orderId())) {
                MessageHandler.super.handleAll(tx, messages); // the same order twice: keep list order exactly
                return;
            }
            statuses.add(new LoyaltyStore.StatusChange(message.id(), message.eventType(), event, status, message.sequence()));
        }
        for (LoyaltyStore.StatusChange late : store.applyBatch(tx, customers, statuses)) {
            LOG.warn("ORDERING VIOLATION: {} message {} for order {} has sequence {}, older than the last applied; "
                    + "status not changed", late.eventType(), late.messageId(), late.event().orderId(), late.sequence());
        }
    }

    private void applyStatus(Handle tx, OutboxMessage message, OrderEvent event, String status) {
        if (store.applyStatus(tx, message.id(), event, status, message.sequence()) == LoyaltyStore.Applied.OUT_OF_ORDER) {
            LOG.warn("ORDERING VIOLATION: {} message {} for order {} has sequence {}, older than the last applied; "
                    + "status not changed", message.eventType(), message.id(), event.orderId(), message.sequence());
        }
    }
}
