package io.outboxkit.orders;

/** Where an order stands. Stored as its name in {@code orders.status}. */
enum OrderStatus {
    /** Placed, not yet paid. */
    CREATED,
    /** Paid. */
    PAID,
    /** Cancelled before payment, or refunded after it; final. */
    CANCELLED
}
