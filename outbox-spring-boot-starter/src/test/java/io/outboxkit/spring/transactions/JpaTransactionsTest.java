package io.outboxkit.spring.transactions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.spring.Contexts;
import io.outboxkit.testing.PostgresExtension;
import jakarta.persistence.Entity;
import jakarta.persistence.EntityManager;
import jakarta.persistence.Id;
import jakarta.persistence.PersistenceContext;
import jakarta.persistence.Table;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.hibernate.autoconfigure.HibernateJpaAutoConfiguration;
import org.springframework.boot.persistence.autoconfigure.EntityScan;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.transaction.NestedTransactionNotSupportedException;

/**
 * The writer in {@code @Transactional} methods over JPA (Hibernate and JpaTransactionManager): the
 * entity is flushed at commit, after the event's insert, on the same connection.
 */
class JpaTransactionsTest extends TransactionJoiningContract {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ServiceConfiguration.ORDERS_TABLE);

    @Override
    ApplicationContextRunner context() {
        return Contexts.on(db, HibernateJpaAutoConfiguration.class, TransactionAutoConfiguration.class)
                .withUserConfiguration(Entities.class, ServiceConfiguration.class)
                .withPropertyValues("spring.jpa.hibernate.ddl-auto=none", "spring.jpa.open-in-view=false")
                .withBean(JpaOrders.class);
    }

    /**
     * JpaTransactionManager refuses NESTED (and with nestedTransactionAllowed, Hibernate's dialect has
     * no savepoints): the inner method never runs, the refusal rolls back the outer transaction, and
     * no event is left without its entity.
     */
    @Test
    void nested_is_refused_by_the_jpa_transaction_manager_and_nothing_is_written() {
        UUID outer = UUID.randomUUID();
        UUID inner = UUID.randomUUID();
        context().run(context -> assertThatThrownBy(
                () -> context.getBean(OrderService.class).createWithNested(outer, inner, false))
                .isInstanceOf(NestedTransactionNotSupportedException.class));
        assertThat(orders(outer) + events(outer) + orders(inner) + events(inner)).isZero();
    }

    @Override
    PostgresExtension db() {
        return db;
    }

    /** Where Hibernate finds the entity. */
    @Configuration(proxyBeanMethods = false)
    @EntityScan(basePackageClasses = TestOrder.class)
    static class Entities {
    }

    /** An order, as a JPA entity. */
    @Entity
    @Table(name = "test_orders")
    public static class TestOrder {
        @Id
        private UUID id;
        private String status;

        protected TestOrder() {
        }

        TestOrder(UUID id, String status) {
            this.id = id;
            this.status = status;
        }
    }

    /** Orders persisted through the transaction's EntityManager. */
    static class JpaOrders implements Orders {
        @PersistenceContext
        private EntityManager entityManager;

        @Override
        public void save(UUID id) {
            entityManager.persist(new TestOrder(id, "CREATED"));
        }
    }
}
