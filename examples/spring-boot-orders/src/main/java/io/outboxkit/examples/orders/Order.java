package io.outboxkit.examples.orders;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.UUID;

/** An order, as JPA maps it onto the {@code orders} table (created by this service's own Flyway migration). */
@Entity
@Table(name = "orders")
public class Order {

    @Id
    private UUID id;
    @Column(name = "user_id", nullable = false)
    private UUID userId;
    @Column(nullable = false)
    private BigDecimal amount;
    @Column(nullable = false)
    private String status;
    @Column(name = "created_at", nullable = false)
    private Instant createdAt;

    /** For JPA. */
    protected Order() {
    }

    /** A new order of {@code amount} for {@code userId}, in status CREATED. */
    public Order(UUID userId, BigDecimal amount) {
        this.id = UUID.randomUUID();
        this.userId = userId;
        this.amount = amount;
        this.status = "CREATED";
        this.createdAt = Instant.now();
    }

    /** The order's id, chosen when it is made. */
    public UUID getId() {
        return id;
    }

    /** Who ordered. */
    public UUID getUserId() {
        return userId;
    }

    /** How much. */
    public BigDecimal getAmount() {
        return amount;
    }

    /** CREATED. */
    public String getStatus() {
        return status;
    }

    /** When it was made. */
    public Instant getCreatedAt() {
        return createdAt;
    }
}
