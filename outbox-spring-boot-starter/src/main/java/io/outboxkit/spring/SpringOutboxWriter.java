package io.outboxkit.spring;

import io.outboxkit.core.NewMessage;
import io.outboxkit.core.NotInTransactionException;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxWriter;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * Writes outbox messages in the caller's Spring-managed transaction, so that they commit or roll
 * back with the entity or rows that transaction changes: call it from a {@code @Transactional}
 * method (or inside {@code TransactionTemplate.execute}), over JPA/Hibernate
 * ({@code JpaTransactionManager}) or JDBC ({@code DataSourceTransactionManager}, {@code JdbcTemplate},
 * {@code JdbcClient}) alike.
 *
 * <p>The message is a row of the transaction scope it is written in, exactly like a
 * {@code JdbcTemplate} insert at the same point:
 * <ul>
 *   <li>{@code REQUIRED} (the default): it commits or rolls back with the caller's transaction;</li>
 *   <li>{@code REQUIRES_NEW}: with the inner transaction, whatever becomes of the outer one;</li>
 *   <li>{@code NESTED} (a JDBC savepoint, with {@code DataSourceTransactionManager}): it is undone
 *       if the nested scope rolls back to its savepoint, and commits with the outer transaction
 *       otherwise. {@code JpaTransactionManager} refuses {@code NESTED} itself
 *       ({@code NestedTransactionNotSupportedException}: Hibernate's dialect has no savepoints), before
 *       the nested method runs, so no event is ever left without its entity;</li>
 *   <li>no transaction ({@code SUPPORTS}, {@code NOT_SUPPORTED}, {@code NEVER} without one, or no
 *       {@code @Transactional} at all): refused with {@link NotInTransactionException}, since the
 *       message would commit on its own, apart from the change it announces;</li>
 *   <li>a transaction that has completed, from a {@code @TransactionalEventListener} with phase
 *       {@code AFTER_COMMIT} (the default), {@code AFTER_ROLLBACK} or {@code AFTER_COMPLETION}, or
 *       another {@code afterCompletion} callback: refused with {@link NotInTransactionException}
 *       too, since the message could no longer commit with the change. Write it with phase
 *       {@code BEFORE_COMMIT}, or in a transaction of the listener's own ({@code REQUIRES_NEW}).
 *       A raw {@code TransactionSynchronization.afterCommit()} callback cannot be told from the
 *       transaction (Spring still shows it active), so a write there is not refused: give it
 *       {@code REQUIRES_NEW}, as Spring's Javadoc of {@code afterCommit} says;</li>
 *   <li>a read-only transaction: refused with {@link OutboxException}, before the database is
 *       touched, whatever the driver would do with the read-only flag.</li>
 * </ul>
 * A transaction of a transaction manager that does not hold a connection of this writer's
 * {@code DataSource} (another database, or a JPA setup that does not expose its JDBC connection)
 * is refused too, with {@link NotInTransactionException}: a write there could not commit with it.
 *
 * <p>Implementations are thread-safe: one instance serves the whole application.
 */
public interface SpringOutboxWriter {

    /**
     * Writes one message in the current Spring transaction.
     *
     * @return the id the message was given
     * @throws NotInTransactionException when no transaction on this writer's DataSource is active, or
     *                                   it has already completed (an after-commit listener)
     * @throws OutboxException           when the transaction is read-only, or the database refuses the
     *                                   insert (a payload that is not JSON): the caller's transaction
     *                                   should then roll back, as it does when the exception leaves a
     *                                   {@code @Transactional} method
     */
    UUID write(NewMessage message);

    /**
     * Writes {@code messages} in the current Spring transaction, in list order (which is also their
     * delivery order within an aggregate).
     *
     * @return the ids given to the messages, in list order
     * @throws NotInTransactionException when no transaction on this writer's DataSource is active, or
     *                                   it has already completed (an after-commit listener)
     * @throws OutboxException           when the transaction is read-only or the database refuses the insert
     */
    List<UUID> writeAll(List<NewMessage> messages);

    /**
     * A writer that writes with {@code writer} on the connection that the current Spring
     * transaction holds for {@code dataSource}: the DataSource the application's transaction manager
     * manages (the same bean, not a copy of its settings).
     */
    static SpringOutboxWriter create(DataSource dataSource, OutboxWriter writer) {
        return new TransactionBoundOutboxWriter(Objects.requireNonNull(dataSource, "dataSource"),
                Objects.requireNonNull(writer, "writer"));
    }
}
