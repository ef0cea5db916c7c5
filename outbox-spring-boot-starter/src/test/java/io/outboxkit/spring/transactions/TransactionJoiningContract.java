package io.outboxkit.spring.transactions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.NotInTransactionException;
import io.outboxkit.core.OutboxException;
import io.outboxkit.spring.SpringOutboxWriter;
import io.outboxkit.testing.PostgresExtension;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * What a Spring user expects of the writer in a {@code @Transactional} method, whatever the
 * transaction manager: each subclass gives the context (JPA or JDBC) and the database.
 */
abstract class TransactionJoiningContract {

    /** The subclass's context: its transaction manager, {@link Orders}, and the starter. */
    abstract ApplicationContextRunner context();

    /** The subclass's database. */
    abstract PostgresExtension db();

    @Test
    void a_committed_transaction_leaves_the_order_and_its_event_written_in_the_same_transaction() {
        UUID id = UUID.randomUUID();
        context().run(context -> context.getBean(OrderService.class).create(id, false));
        assertThat(orders(id)).isEqualTo(1);
        assertThat(events(id)).isEqualTo(1);
        boolean oneTransaction = db().jdbi().withHandle(h -> h.createQuery("""
                        SELECT (SELECT xmin::text FROM test_orders WHERE id = :id)
                             = (SELECT xmin::text FROM outbox WHERE aggregate_id = :id::text)""")
                .bind("id", id).mapTo(Boolean.class).one());
        assertThat(oneTransaction).as("one transaction wrote both rows").isTrue();
    }

    @Test
    void an_exception_after_the_write_leaves_neither_the_order_nor_its_event() {
        UUID id = UUID.randomUUID();
        context().run(context -> assertThatThrownBy(() -> context.getBean(OrderService.class).create(id, true))
                .isInstanceOf(IllegalStateException.class));
        assertThat(orders(id)).isZero();
        assertThat(events(id)).isZero();
    }

    @Test
    void requires_new_commits_the_inner_event_with_the_inner_transaction_though_the_outer_rolls_back() {
        UUID outer = UUID.randomUUID();
        UUID inner = UUID.randomUUID();
        context().run(context -> assertThatThrownBy(
                () -> context.getBean(OrderService.class).createWithRequiresNew(outer, inner, false, true))
                .isInstanceOf(IllegalStateException.class));
        assertThat(orders(outer) + events(outer)).isZero();
        assertThat(orders(inner)).isEqualTo(1);
        assertThat(events(inner)).isEqualTo(1);
    }

    @Test
    void requires_new_rolls_back_the_inner_event_with_the_inner_transaction_and_the_outer_commits() {
        UUID outer = UUID.randomUUID();
        UUID inner = UUID.randomUUID();
        context().run(context -> context.getBean(OrderService.class).createWithRequiresNew(outer, inner, true, false));
        assertThat(orders(outer)).isEqualTo(1);
        assertThat(events(outer)).isEqualTo(1);
        assertThat(orders(inner) + events(inner)).isZero();
    }

    @Test
    void a_read_only_transaction_refuses_the_write_and_writes_nothing() {
        UUID id = UUID.randomUUID();
        context().run(context -> assertThatThrownBy(() -> context.getBean(OrderService.class).createReadOnly(id))
                .isInstanceOf(OutboxException.class).hasMessageContaining("read-only transaction"));
        assertThat(events(id)).isZero();
    }

    @Test
    void writing_with_no_transaction_is_refused_with_not_in_transaction_exception() {
        UUID id = UUID.randomUUID();
        context().run(context -> {
            assertThatThrownBy(() -> context.getBean(OrderService.class).createWithoutTransaction(id))
                    .isInstanceOf(NotInTransactionException.class).hasMessageContaining("@Transactional");
            assertThatThrownBy(() -> context.getBean(SpringOutboxWriter.class).write(OrderService.event(id)))
                    .isInstanceOf(NotInTransactionException.class);
        });
        assertThat(events(id)).isZero();
    }

    /**
     * In an AFTER_COMMIT listener the transaction has committed: a write there cannot commit with the
     * change, so, as with no transaction at all (docs/spring-boot.md: "none ... refused
     * (NotInTransactionException): it would commit on its own"), it must be refused.
     */
    @Test
    void a_write_from_an_after_commit_listener_is_refused_since_the_transaction_has_committed() {
        UUID id = UUID.randomUUID();
        context().withUserConfiguration(AfterCommitEvents.class).run(context -> {
            context.getBean(AfterCommitEvents.Saver.class).save(id);
            AfterCommitEvents.Outcome outcome = context.getBean(AfterCommitEvents.Outcome.class);
            assertThat(outcome.refused.get())
                    .as("write() after commit returned %s instead of refusing", outcome.written.get())
                    .isInstanceOf(NotInTransactionException.class);
        });
        assertThat(orders(id)).isEqualTo(1);
        assertThat(events(id)).as("an event committed on its own, apart from the order's transaction").isZero();
    }

    /**
     * With {@code spring.datasource.hikari.auto-commit=false} (which docs/spring-boot.md says works),
     * such a write was left open on the finished transaction and rolled back by the pool, after
     * write() had returned its id: it is refused, and the order stays committed.
     */
    @Test
    void with_auto_commit_off_a_write_from_an_after_commit_listener_is_refused_and_the_order_stays_committed() {
        UUID id = UUID.randomUUID();
        context().withUserConfiguration(AfterCommitEvents.class)
                .withPropertyValues("spring.datasource.hikari.auto-commit=false").run(context -> {
                    context.getBean(AfterCommitEvents.Saver.class).save(id);
                    AfterCommitEvents.Outcome outcome = context.getBean(AfterCommitEvents.Outcome.class);
                    assertThat(outcome.refused.get())
                            .as("write() after commit returned %s instead of refusing", outcome.written.get())
                            .isInstanceOf(NotInTransactionException.class)
                            .hasMessageContaining("BEFORE_COMMIT").hasMessageContaining("REQUIRES_NEW");
                });
        assertThat(orders(id)).isEqualTo(1);
        assertThat(events(id)).isZero();
    }

    /** The remedy the refusal names: the AFTER_COMMIT listener writes in a transaction of its own. */
    @Test
    void an_after_commit_listener_in_a_requires_new_transaction_commits_its_event() {
        UUID id = UUID.randomUUID();
        context().withBean(AfterCommitEvents.Outcome.class).withBean(AfterCommitEvents.Saver.class)
                .withBean(AfterCommitEvents.OwnTransactionListener.class).run(context -> {
                    context.getBean(AfterCommitEvents.Saver.class).save(id);
                    AfterCommitEvents.Outcome outcome = context.getBean(AfterCommitEvents.Outcome.class);
                    assertThat(outcome.refused.get()).isNull();
                    assertThat(outcome.written.get()).isNotNull();
                });
        assertThat(orders(id)).isEqualTo(1);
        assertThat(events(id)).isEqualTo(1);
    }

    long orders(UUID id) {
        return db().jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM test_orders WHERE id = :id")
                .bind("id", id).mapTo(Long.class).one());
    }

    long events(UUID id) {
        return db().jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM outbox WHERE aggregate_id = :id")
                .bind("id", id.toString()).mapTo(Long.class).one());
    }
}
