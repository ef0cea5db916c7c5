package io.outboxkit.spring.transactions;

import io.outboxkit.spring.SpringOutboxWriter;
import io.outboxkit.testing.DatabaseSetup;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The application's service beans, on whichever {@link Orders} the test's context has. */
@Configuration(proxyBeanMethods = false)
class ServiceConfiguration {

    /** The business table of these tests, beside the outbox the starter makes. */
    static final DatabaseSetup ORDERS_TABLE = dataSource -> {
        try (var connection = dataSource.getConnection(); var statement = connection.createStatement()) {
            statement.execute("CREATE TABLE test_orders (id uuid PRIMARY KEY, status text NOT NULL)");
        }
    };

    @Bean
    OrderService.Inner inner(Orders orders, SpringOutboxWriter outbox) {
        return new OrderService.Inner(orders, outbox);
    }

    @Bean
    OrderService orderService(Orders orders, SpringOutboxWriter outbox, OrderService.Inner inner) {
        return new OrderService(orders, outbox, inner);
    }
}
