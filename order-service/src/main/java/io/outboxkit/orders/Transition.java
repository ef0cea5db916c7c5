package io.outboxkit.orders;

import java.util.Set;

/**
 * A status change a client may ask for, the statuses it is legal from, and the event it writes.
 * Legal: CREATED to PAID, CREATED to CANCELLED, PAID to CANCELLED (a refund).
 */
enum Transition {
    /** CREATED to PAID, writing {@code OrderPaid}. */
    PAY("pay", OrderStatus.PAID, Set.of(OrderStatus.CREATED), "OrderPaid"),
    /** CREATED or PAID (a refund) to CANCELLED, writing {@code OrderCancelled}. */
    CANCEL("cancel", OrderStatus.CANCELLED, Set.of(OrderStatus.CREATED, OrderStatus.PAID), "OrderCancelled");

    private final String verb;
    private final OrderStatus target;
    private final Set<OrderStatus> from;
    private final String eventType;

    Transition(String verb, OrderStatus target, Set<OrderStatus> from, String eventType) {
        this.verb = verb;
        this.target = target;
        this.from = from;
        this.eventType = eventType;
    }

    /** The word for it in a path and an error message: "pay", "cancel". */
    String verb() {
        return verb;
    }

    /** The status the order has afterwards. */
    OrderStatus target() {
        return target;
    }

    /** The statuses it may start from. */
    Set<OrderStatus> from() {
        return from;
    }

    /** The outbox event type it writes. */
    String eventType() {
        return eventType;
    }
}
