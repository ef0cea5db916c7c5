package io.outboxkit.examples.orders;

import java.util.UUID;
import org.springframework.data.jpa.repository.JpaRepository;

/** The orders, through Spring Data JPA. */
public interface OrderRepository extends JpaRepository<Order, UUID> {
}
