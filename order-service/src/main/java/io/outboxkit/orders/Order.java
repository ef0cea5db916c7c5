package io.outboxkit.orders;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * An order as stored.
 *
 * @param id        the order's id
 * @param userId    who placed it
 * @param amount    what it costs, scale 2 (as {@code numeric(10,2)} stores it)
 * @param status    where it stands
 * @param createdAt when it was placed (the creating transaction's start time)
 */
record Order(UUID id, UUID userId, BigDecimal amount, OrderStatus status, Instant createdAt) {

    Order {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(userId, "userId");
        Objects.requireNonNull(amount, "amount");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(createdAt, "createdAt");
    }
}
