package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.NewMessage;
import io.outboxkit.core.NotInTransactionException;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.AbstractPlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The writer in a transaction of a transaction manager configured otherwise than by default: it
 * writes in every real transaction that holds a connection of its DataSource.
 */
class TransactionManagerSettingsTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(dataSource -> {
        OutboxMigrations.apply(dataSource);
        try (var connection = dataSource.getConnection(); var statement = connection.createStatement()) {
            statement.execute("CREATE TABLE settings_orders (id uuid PRIMARY KEY)");
        }
    });

    @Test
    void a_transaction_manager_that_never_synchronizes_still_has_its_transactions_written_in() {
        DataSourceTransactionManager manager = new DataSourceTransactionManager(db.dataSource());
        // A documented setting (it spares the synchronization's bookkeeping); the connection is still bound.
        manager.setTransactionSynchronization(AbstractPlatformTransactionManager.SYNCHRONIZATION_NEVER);
        SpringOutboxWriter outbox = SpringOutboxWriter.create(db.dataSource(), OutboxWriter.create());
        UUID id = UUID.randomUUID();

        new TransactionTemplate(manager).executeWithoutResult(status -> {
            new JdbcTemplate(db.dataSource()).update("INSERT INTO settings_orders VALUES (?)", id);
            outbox.write(NewMessage.of("Order", id.toString(), "OrderCreated", "{}"));
        });

        long events = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM outbox WHERE aggregate_id = ?")
                .bind(0, id.toString()).mapTo(Long.class).one());
        assertThat(events).as("the event written in the committed transaction, with its order").isEqualTo(1);
    }

    @Test
    void with_a_transaction_manager_that_never_synchronizes_a_write_outside_a_transaction_or_in_a_read_only_one_is_refused() {
        DataSourceTransactionManager manager = new DataSourceTransactionManager(db.dataSource());
        manager.setTransactionSynchronization(AbstractPlatformTransactionManager.SYNCHRONIZATION_NEVER);
        SpringOutboxWriter outbox = SpringOutboxWriter.create(db.dataSource(), OutboxWriter.create());
        TransactionTemplate readOnly = new TransactionTemplate(manager);
        readOnly.setReadOnly(true);

        assertThatThrownBy(() -> outbox.write(NewMessage.of("Order", "outside", "OrderCreated", "{}")))
                .isInstanceOf(NotInTransactionException.class);
        assertThatThrownBy(() -> readOnly.executeWithoutResult(status ->
                outbox.write(NewMessage.of("Order", "read-only", "OrderCreated", "{}"))))
                .isInstanceOf(OutboxException.class).hasMessageContaining("read-only");
        long events = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM outbox WHERE aggregate_id IN "
                + "('outside', 'read-only')").mapTo(Long.class).one());
        assertThat(events).as("events of refused writes").isZero();
    }
}
