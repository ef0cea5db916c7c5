package io.outboxkit.spring;

import io.outboxkit.core.NewMessage;
import io.outboxkit.core.NotInTransactionException;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * {@link SpringOutboxWriter} on the connection Spring's transaction holds for the DataSource.
 *
 * <p>Both transaction managers bind that connection to the thread under the DataSource:
 * {@code DataSourceTransactionManager} its own, and {@code JpaTransactionManager} the JDBC connection
 * of the EntityManager's transaction (Spring Boot gives it the application's DataSource), so
 * {@link DataSourceUtils#getConnection} returns the very connection the entity will be flushed on.
 */
final class TransactionBoundOutboxWriter implements SpringOutboxWriter {

    private final DataSource dataSource;
    private final OutboxWriter writer;

    TransactionBoundOutboxWriter(DataSource dataSource, OutboxWriter writer) {
        this.dataSource = dataSource;
        this.writer = writer;
    }

    @Override
    public UUID write(NewMessage message) {
        return writeAll(List.of(message)).get(0);
    }

    @Override
    public List<UUID> writeAll(List<NewMessage> messages) {
        // A transaction manager set to SYNCHRONIZATION_NEVER maintains neither flag: its transactions
        // are known only by the connection it binds, checked below.
        boolean synchronizing = TransactionSynchronizationManager.isSynchronizationActive();
        boolean active = TransactionSynchronizationManager.isActualTransactionActive();
        if (synchronizing && !active) {
            throw notInTransaction();
        }
        // Spring still reports the transaction active, and its connection bound, while the
        // afterCompletion callbacks run (where @TransactionalEventListener AFTER_COMMIT, AFTER_ROLLBACK and
        // AFTER_COMPLETION listeners run), but it has already cleared the synchronizations by then: a write
        // there would be left open on a finished transaction, rolled back by the pool or committed alone.
        if (active && !synchronizing) {
            throw new NotInTransactionException("SpringOutboxWriter: the Spring transaction has already completed (this "
                    + "is an after-commit or after-rollback callback, such as a @TransactionalEventListener with the "
                    + "default phase AFTER_COMMIT), so the message could not commit with it: write it in the "
                    + "transaction itself, from a listener with phase = TransactionPhase.BEFORE_COMMIT, or give the "
                    + "listener a transaction of its own with @Transactional(propagation = Propagation.REQUIRES_NEW)");
        }
        if (TransactionSynchronizationManager.isCurrentTransactionReadOnly()) {
            throw readOnly();
        }
        // Without a connection bound for this DataSource, DataSourceUtils would open a new one in
        // auto-commit: the write would commit on its own, which is refused here rather than below.
        if (!TransactionSynchronizationManager.hasResource(dataSource)) {
            if (!synchronizing) {
                throw notInTransaction();
            }
            throw new NotInTransactionException("SpringOutboxWriter: the current Spring transaction holds no "
                    + "connection of the outbox's DataSource (its transaction manager manages another DataSource, "
                    + "or a JPA EntityManagerFactory that does not expose its JDBC connection), so the message "
                    + "could not commit with it");
        }
        Connection connection = DataSourceUtils.getConnection(dataSource);
        try {
            if (!synchronizing) {
                requireTransaction(connection);
            }
            return writer.writeAll(connection, messages);
        } finally {
            DataSourceUtils.releaseConnection(connection, dataSource);
        }
    }

    /**
     * Refuses the connection bound without synchronization unless a transaction holds it: the
     * managers turn auto-commit off for their transactions, and mark a read-only one's connection so.
     */
    private static void requireTransaction(Connection connection) {
        try {
            if (connection.getAutoCommit()) {
                throw notInTransaction();
            }
            if (connection.isReadOnly()) {
                throw readOnly();
            }
        } catch (SQLException e) {
            throw new OutboxException("SpringOutboxWriter could not read the transaction's connection: " + e.getMessage(), e);
        }
    }

    private static NotInTransactionException notInTransaction() {
        return new NotInTransactionException("SpringOutboxWriter needs the caller's Spring transaction: call it from "
                + "a @Transactional method (or inside TransactionTemplate.execute), so the message commits with "
                + "the business change");
    }

    private static OutboxException readOnly() {
        return new OutboxException("SpringOutboxWriter refuses to write in a read-only transaction "
                + "(@Transactional(readOnly = true)): a message announces a change, which a read-only "
                + "transaction does not make");
    }
}
