package io.outboxkit.examples.orders;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * An order service on Spring Boot and outbox-spring-boot-starter: {@code POST /orders} saves an
 * {@link Order} (JPA) and its {@code OrderCreated} event in one transaction, and the starter's
 * poller, in this process, delivers the event to {@link LoggingPublisher}.
 */
@SpringBootApplication
public class OrdersApplication {

    /** Starts the service; {@code spring.datasource.*} says where PostgreSQL is. */
    public static void main(String[] args) {
        SpringApplication.run(OrdersApplication.class, args);
    }
}
