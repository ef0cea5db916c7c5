package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.BatchOutcome;
import io.outboxkit.core.IdempotentHandler;
import io.outboxkit.core.MessageHandlingException;
import io.outboxkit.core.Outcome;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.MessageHandler;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.TransactionAwareDataSourceProxy;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The library over a Jdbi bound to the application's Spring transaction, called within one that
 * has written: it joins that transaction, leaves its ending to the caller, and leaves nothing of
 * its own behind in it.
 */
class TransactionAwareJdbiTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(dataSource -> {
        OutboxMigrations.apply(dataSource);
        try (var connection = dataSource.getConnection(); var statement = connection.createStatement()) {
            statement.execute("CREATE TABLE caller_rows (n int NOT NULL)");
            statement.execute("CREATE TABLE batch_effects (aggregate_id text NOT NULL)");
        }
    });

    @Test
    void a_callers_transaction_that_rolls_back_leaves_nothing_of_its_own_committed() {
        OutboxMessage message = new OutboxMessage(UUID.randomUUID(), 1, "Order", "o-1", "OrderCreated", "{}", Map.of(),
                Instant.now(), 1);
        Jdbi jdbi = Jdbi.create(new TransactionAwareDataSourceProxy(db.dataSource()));
        IdempotentHandler handler = IdempotentHandler.create(jdbi, "loyalty", (tx, m) -> { });
        new TransactionTemplate(new DataSourceTransactionManager(db.dataSource())).executeWithoutResult(status -> {
            new JdbcTemplate(db.dataSource()).update("INSERT INTO caller_rows VALUES (1)");
            handler.handle(message);
            status.setRollbackOnly();
        });
        long rows = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM caller_rows WHERE n = 1").mapTo(Long.class)
                .one());
        assertThat(rows).as("the caller's row, written before the handler, in a transaction rolled back").isZero();
    }

    @Test
    void the_admin_joined_to_a_callers_transaction_leaves_its_statement_timeout_and_planner_settings_alone() {
        Jdbi jdbi = Jdbi.create(new TransactionAwareDataSourceProxy(db.dataSource()));
        OutboxAdmin admin = OutboxAdmin.create(jdbi);
        JdbcTemplate template = new JdbcTemplate(db.dataSource());
        String[] before = new String[2];
        String[] after = new String[2];
        new TransactionTemplate(new DataSourceTransactionManager(db.dataSource())).executeWithoutResult(status -> {
            template.update("INSERT INTO caller_rows VALUES (1)");
            before[0] = template.queryForObject("SELECT current_setting('statement_timeout')", String.class);
            before[1] = template.queryForObject("SELECT current_setting('enable_seqscan')", String.class);
            admin.leaseHolders();
            after[0] = template.queryForObject("SELECT current_setting('statement_timeout')", String.class);
            after[1] = template.queryForObject("SELECT current_setting('enable_seqscan')", String.class);
        });
        assertThat(after).as("statement_timeout and enable_seqscan for the rest of the caller's transaction, "
                + "after an OutboxAdmin view joined it").containsExactly(before);
    }

    @Test
    void the_monitor_joined_to_a_callers_transaction_leaves_its_statement_timeout_alone() {
        OutboxMonitor monitor = OutboxMonitor.create(Jdbi.create(new TransactionAwareDataSourceProxy(db.dataSource())),
                OutboxNames.DEFAULT);
        JdbcTemplate template = new JdbcTemplate(db.dataSource());
        String[] timeouts = new String[2];
        new TransactionTemplate(new DataSourceTransactionManager(db.dataSource())).executeWithoutResult(status -> {
            template.update("INSERT INTO caller_rows VALUES (1)");
            timeouts[0] = template.queryForObject("SELECT current_setting('statement_timeout')", String.class);
            monitor.snapshot();
            timeouts[1] = template.queryForObject("SELECT current_setting('statement_timeout')", String.class);
        });
        assertThat(timeouts[1]).as("statement_timeout for the rest of the caller's transaction, after the monitor's "
                + "reading joined it").isEqualTo(timeouts[0]);
    }

    @Test
    void a_batch_in_a_callers_transaction_with_a_failing_message_reports_it_failed_and_leaves_it_unrecorded() {
        OutboxMessage good = new OutboxMessage(UUID.randomUUID(), 1, "Order", "good", "OrderCreated", "{}", Map.of(),
                Instant.now(), 1);
        OutboxMessage bad = new OutboxMessage(UUID.randomUUID(), 2, "Order", "bad", "OrderCreated", "{}", Map.of(),
                Instant.now(), 1);
        Jdbi jdbi = Jdbi.create(new TransactionAwareDataSourceProxy(db.dataSource()));
        IdempotentHandler handler = IdempotentHandler.create(jdbi, "batch-joiner", (tx, m) -> {
            if (m.aggregateId().equals("bad")) {
                throw new IllegalStateException("cannot apply " + m.aggregateId());
            }
            tx.execute("INSERT INTO batch_effects VALUES (?)", m.aggregateId());
        });
        BatchOutcome[] outcome = new BatchOutcome[1];
        new TransactionTemplate(new DataSourceTransactionManager(db.dataSource())).executeWithoutResult(status -> {
            new JdbcTemplate(db.dataSource()).update("INSERT INTO caller_rows VALUES (2)");
            outcome[0] = handler.handleAll(List.of(good, bad));
        });
        long badRecorded = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM processed_messages "
                + "WHERE consumer = 'batch-joiner' AND message_id = ?").bind(0, bad.id()).mapTo(Long.class).one());
        long goodEffects = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM batch_effects "
                + "WHERE aggregate_id = 'good'").mapTo(Long.class).one());
        assertThat(outcome[0].failures()).as("outcome of a batch whose message 'bad' threw, in the caller's "
                + "transaction: %s", outcome[0].outcomes()).containsOnlyKeys(bad.id());
        assertThat(badRecorded).as("the failed message's processed row, committed with the caller's transaction "
                + "(a redelivery would then skip it)").isZero();
        assertThat(goodEffects).as("effects of message 'good', processed once").isEqualTo(1);
    }

    @Test
    void a_message_whose_handler_threw_in_a_callers_transaction_that_then_commits_is_processed_at_its_redelivery() {
        OutboxMessage message = new OutboxMessage(UUID.randomUUID(), 3, "Order", "flaky", "OrderCreated", "{}", Map.of(),
                Instant.now(), 1);
        Jdbi jdbi = Jdbi.create(new TransactionAwareDataSourceProxy(db.dataSource()));
        boolean[] failing = {true};
        IdempotentHandler handler = IdempotentHandler.create(jdbi, "single-joiner", (tx, m) -> {
            if (failing[0]) {
                throw new IllegalStateException("the downstream service is down");
            }
            tx.execute("INSERT INTO batch_effects VALUES (?)", m.aggregateId());
        });
        TransactionTemplate transactions = new TransactionTemplate(new DataSourceTransactionManager(db.dataSource()));
        transactions.executeWithoutResult(status -> {
            new JdbcTemplate(db.dataSource()).update("INSERT INTO caller_rows VALUES (3)");
            // The Javadoc: "MessageHandlingException when the handler threw; nothing was committed".
            assertThatThrownBy(() -> handler.handle(message)).isInstanceOf(MessageHandlingException.class);
        });
        failing[0] = false;
        Outcome redelivered = transactions.execute(status -> handler.handle(message));
        assertThat(redelivered).as("the redelivery of a message whose handler threw (its effect never written)")
                .isEqualTo(Outcome.PROCESSED);
    }

    @Test
    void a_batch_in_a_callers_transaction_whose_one_by_one_pass_throws_an_error_leaves_no_record_there() {
        OutboxMessage fine = new OutboxMessage(UUID.randomUUID(), 4, "Order", "fine", "OrderCreated", "{}", Map.of(),
                Instant.now(), 1);
        OutboxMessage fatal = new OutboxMessage(UUID.randomUUID(), 5, "Order", "fatal", "OrderCreated", "{}", Map.of(),
                Instant.now(), 1);
        Jdbi jdbi = Jdbi.create(new TransactionAwareDataSourceProxy(db.dataSource()));
        IdempotentHandler handler = IdempotentHandler.create(jdbi, "error-joiner", new MessageHandler() {
            @Override
            public void handleAll(Handle transaction, List<OutboxMessage> messages) {
                throw new IllegalStateException("the batch as a whole is refused");
            }

            @Override
            public void handle(Handle transaction, OutboxMessage message) {
                if (message.aggregateId().equals("fatal")) {
                    throw new AssertionError("a broken handler"); // an Error: no message of the batch is done
                }
                transaction.execute("INSERT INTO batch_effects VALUES (?)", message.aggregateId());
            }
        });
        new TransactionTemplate(new DataSourceTransactionManager(db.dataSource())).executeWithoutResult(status -> {
            new JdbcTemplate(db.dataSource()).update("INSERT INTO batch_effects VALUES ('the caller')");
            assertThatThrownBy(() -> handler.handleAll(List.of(fine, fatal))).isInstanceOf(AssertionError.class);
        });
        long recorded = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM processed_messages "
                + "WHERE consumer = 'error-joiner'").mapTo(Long.class).one());
        assertThat(recorded).as("records of a batch that threw, left in the caller's transaction, which committed")
                .isZero();
    }
}
