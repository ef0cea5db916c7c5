package io.outboxkit.spring.transactions;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.spring.Contexts;
import io.outboxkit.testing.PostgresExtension;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.jdbc.core.JdbcTemplate;

/** The writer in {@code @Transactional} methods over JdbcTemplate and DataSourceTransactionManager. */
class JdbcTemplateTransactionsTest extends TransactionJoiningContract {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ServiceConfiguration.ORDERS_TABLE);

    @Override
    ApplicationContextRunner context() {
        return Contexts.on(db, DataSourceTransactionManagerAutoConfiguration.class,
                        JdbcTemplateAutoConfiguration.class, TransactionAutoConfiguration.class)
                .withUserConfiguration(ServiceConfiguration.class)
                .withBean(JdbcOrders.class);
    }

    /** DataSourceTransactionManager runs NESTED on a JDBC savepoint, which the event's insert is behind. */
    @Test
    void nested_rolls_back_the_inner_event_with_its_savepoint_and_the_outer_commits() {
        UUID outer = UUID.randomUUID();
        UUID inner = UUID.randomUUID();
        context().run(context -> context.getBean(OrderService.class).createWithNested(outer, inner, true));
        assertThat(orders(outer)).isEqualTo(1);
        assertThat(events(outer)).isEqualTo(1);
        assertThat(events(inner)).isZero();
        assertThat(orders(inner)).isZero();
    }

    @Test
    void nested_commits_the_inner_event_with_the_outer_transaction() {
        UUID outer = UUID.randomUUID();
        UUID inner = UUID.randomUUID();
        context().run(context -> context.getBean(OrderService.class).createWithNested(outer, inner, false));
        assertThat(orders(outer) + events(outer) + orders(inner) + events(inner)).isEqualTo(4);
    }

    @Override
    PostgresExtension db() {
        return db;
    }

    /** Orders saved with JdbcTemplate. */
    static final class JdbcOrders implements Orders {
        private final JdbcTemplate jdbc;

        JdbcOrders(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @Override
        public void save(UUID id) {
            jdbc.update("INSERT INTO test_orders (id, status) VALUES (?, 'CREATED')", id);
        }
    }
}
