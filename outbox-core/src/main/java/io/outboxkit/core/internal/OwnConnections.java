package io.outboxkit.core.internal;

import io.outboxkit.core.OutboxException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.ColonPrefixSqlParser;
import org.jdbi.v3.core.statement.DefinedAttributeTemplateEngine;
import org.jdbi.v3.core.statement.SqlParser;
import org.jdbi.v3.core.statement.SqlStatements;
import org.jdbi.v3.core.statement.TemplateEngine;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;

/**
 * The library's own units of work on connections it borrows from the application's pool, which
 * commit what they mean to whatever auto-commit setting the pool gives its connections. A pool
 * may hand them out with auto-commit off (HikariCP's {@code autoCommit=false}, common beside
 * JPA): a statement then opens a transaction nobody commits, which the pool rolls back when it
 * takes the connection back, and Jdbi's {@code inTransaction} joins that transaction instead of
 * committing one of its own. Either way the work is lost without an error.
 *
 * <p>A connection already inside a transaction that has run a statement (a {@link Jdbi} over a
 * transaction-aware {@code DataSource}, called within the application's transaction) is the
 * caller's: the work joins that transaction, and neither commits nor rolls it back. Only the
 * driver knows that of a connection with auto-commit off, so one that does not unwrap to it is
 * refused ({@link OutboxException}) rather than guessed at.
 *
 * <p>The library's SQL is written for READ COMMITTED: a claim's {@code FOR UPDATE SKIP LOCKED}, a
 * requeue's or an announcement's update re-check a row another transaction changed meanwhile,
 * where REPEATABLE READ and SERIALIZABLE fail with a serialization failure (40001). So the
 * transactions the library begins for itself run at READ COMMITTED whatever the database's or the
 * role's {@code default_transaction_isolation} ({@link #inReadCommittedTransaction},
 * {@link #readCommitted}); a caller's transaction it joins keeps the caller's level, and so does
 * {@link #inTransaction}, for work whose isolation is the application's (a consumer's effect).
 */
public final class OwnConnections {

    /** The savepoint a reading unit of work rolls back to in the caller's transaction. */
    private static final String READING = "outboxkit_reading";

    /**
     * The first statement of the library's own transactions: allowed only before the transaction's
     * first query, and local to it, so that nothing outlives it on the pool's connection (which
     * {@link Connection#setTransactionIsolation} would change for the session, a round trip to set
     * and another for the pool to reset).
     */
    public static final String READ_COMMITTED = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED";

    /** Jdbi's defaults, shared (each caches what it parsed) by every handle of {@link #open}. */
    private static final SqlParser PARSER = new ColonPrefixSqlParser();
    private static final TemplateEngine TEMPLATES = new DefinedAttributeTemplateEngine();

    /** The attribute that marks a handle whose open transaction is one this class began. */
    private static final String OWN_TRANSACTION = "outboxkit.ownTransaction";

    private OwnConnections() {
    }

    /**
     * A handle on a connection of {@code jdbi}'s, for the library's own SQL: whatever the application
     * set on its {@code Jdbi} for its statements (another SQL parser, such as {@code #name}
     * parameters; another template engine; a query timeout), the handle parses {@code :name}
     * parameters and {@code <name>} attributes as Jdbi does by default, and sets no query timeout
     * (the library sets its own statement_timeout where it needs one). The {@code Jdbi} is unchanged.
     */
    public static Handle open(Jdbi jdbi) {
        Handle handle = jdbi.open();
        handle.getConfig(SqlStatements.class).setSqlParser(PARSER).setTemplateEngine(TEMPLATES).setQueryTimeout(null);
        return handle;
    }

    /**
     * A handle on a connection of {@code jdbi}'s in auto-commit mode: each statement (or
     * multi-statement string) commits on its own (in the caller's transaction, see the class
     * comment, it joins it). Closing the handle gives the connection back with
     * the setting it came with. Not for {@link Handle#inTransaction}: use {@link #inTransaction}.
     *
     * @throws SQLException when the connection's setting cannot be read or changed (the handle is closed)
     */
    public static Handle autoCommitting(Jdbi jdbi) throws SQLException {
        Handle handle = open(jdbi);
        try {
            Connection connection = handle.getConnection();
            // Local in pgjdbc (no round trip), and so is the switch on a connection with no transaction open.
            if (!connection.getAutoCommit() && !inCallersTransaction(connection)) {
                connection.setAutoCommit(true);
                handle.addCleanable(() -> restoreAutoCommitOff(connection));
            }
            return handle;
        } catch (SQLException | RuntimeException e) {
            handle.close();
            throw e;
        }
    }

    /**
     * Runs {@code work} in a transaction begun here on a connection of {@code jdbi}'s and committed
     * here when it returns, rolled back when it throws, whatever the connection's auto-commit
     * setting (in the caller's transaction, see the class comment, it only joins it); returns what
     * it returned. The handle keeps what the application set on {@code jdbi} (SQL parser, template
     * engine, query timeout): the work is the application's (a consumer's effect), and any SQL of
     * the library's beside it goes through JDBC, not Jdbi's parsing.
     *
     * @throws X                                             what {@code work} threw (after the rollback)
     * @throws org.jdbi.v3.core.transaction.TransactionException when the commit failed (the transaction is rolled back)
     */
    public static <R, X extends Exception> R inTransaction(Jdbi jdbi, HandleCallback<R, X> work) throws X {
        return inTransaction(jdbi.open(), work);
    }

    private static <R, X extends Exception> R inTransaction(Handle opened, HandleCallback<R, X> work) throws X {
        try (Handle handle = opened) {
            if (isCallersTransaction(handle)) {
                return work.withHandle(handle);
            }
            // Jdbi's begin and commit, unlike its inTransaction, also commit on a connection that came
            // with auto-commit off (begin finds the transaction open, commit commits it), and run the
            // afterCommit callbacks a handler may register.
            handle.begin();
            // Decided once, before begin: after it the connection has auto-commit off (which a decorated
            // connection that does not unwrap to the driver could not answer for) and may have run a
            // statement of the application's transaction handler, either of which would make this
            // transaction look like the caller's.
            handle.define(OWN_TRANSACTION, true);
            R result;
            try {
                result = work.withHandle(handle);
            } catch (Throwable e) {
                try {
                    handle.rollback();
                } catch (RuntimeException rollback) {
                    e.addSuppressed(rollback);
                }
                throw e;
            }
            handle.commit();
            return result;
        }
    }

    /**
     * As {@link #inTransaction}, but all or nothing in the caller's transaction too: there
     * {@code work} runs under a savepoint, rolled back to when it throws, so that what it wrote
     * before throwing does not commit with the caller's transaction (and a failed statement of it
     * leaves that transaction usable). The savepoint's two round trips are paid only there.
     *
     * @throws X what {@code work} threw (after the rollback)
     */
    public static <R, X extends Exception> R inAtomicTransaction(Jdbi jdbi, HandleCallback<R, X> work) throws X {
        return inTransaction(jdbi, handle -> {
            if (!isCallersTransaction(handle)) {
                return work.withHandle(handle);
            }
            Connection connection = handle.getConnection();
            Savepoint savepoint;
            try {
                savepoint = connection.setSavepoint();
            } catch (SQLException e) {
                throw new ConnectionException(e);
            }
            R result;
            try {
                result = work.withHandle(handle);
            } catch (Throwable e) {
                try {
                    connection.rollback(savepoint);
                } catch (SQLException rollback) {
                    e.addSuppressed(rollback);
                }
                throw e;
            }
            try {
                connection.releaseSavepoint(savepoint);
            } catch (SQLException e) {
                throw new ConnectionException(e);
            }
            return result;
        });
    }

    /**
     * As {@link #inTransaction}, but a transaction begun here runs at READ COMMITTED whatever the
     * session's default (see the class comment); in the caller's transaction, at the caller's level.
     * For the library's own SQL: the handle is one of {@link #open}.
     *
     * @throws X what {@code work} threw (after the rollback)
     */
    public static <R, X extends Exception> R inReadCommittedTransaction(Jdbi jdbi, HandleCallback<R, X> work) throws X {
        return inTransaction(open(jdbi), handle -> {
            if (!isCallersTransaction(handle)) {
                // The driver sends it with the BEGIN it puts before a transaction's first statement.
                handle.execute(READ_COMMITTED);
            }
            return work.withHandle(handle);
        });
    }

    /**
     * A handle on a connection of {@code jdbi}'s with auto-commit off and no transaction open, for
     * transactions sent whole, each in one round trip: a string of statements that opens with
     * {@link #READ_COMMITTED} (the driver puts BEGIN before it) and ends with {@code COMMIT}, or
     * stays open until the connection's {@code commit()}. Closing the handle rolls back what a
     * failure left open and gives the connection back with the auto-commit setting it came with.
     * For the poller's work, which has no caller's transaction to join.
     *
     * @throws IllegalStateException when the connection is inside the caller's transaction (a
     *                               {@link Jdbi} bound to the application's transactions), where
     *                               such a string would commit the caller's work (the handle is closed)
     * @throws SQLException          when the connection's setting cannot be read or changed (the handle is closed)
     */
    public static Handle readCommitted(Jdbi jdbi) throws SQLException {
        Handle handle = open(jdbi);
        try {
            Connection connection = handle.getConnection();
            if (inCallersTransaction(connection)) {
                throw new IllegalStateException("the outbox poller runs transactions of its own, and was given a "
                        + "connection inside the application's transaction: give it a Jdbi over the pool itself, not one "
                        + "bound to the application's transactions");
            }
            boolean autoCommit = connection.getAutoCommit();
            // Local in pgjdbc (no round trip), as is the switch back on a connection with no transaction open.
            connection.setAutoCommit(false);
            handle.addCleanable(() -> release(connection, autoCommit));
            return handle;
        } catch (SQLException | RuntimeException e) {
            handle.close();
            throw e;
        }
    }

    /**
     * Runs {@code work}, which only reads (under settings it makes local to its transaction: a
     * statement timeout, say), as {@link #inReadCommittedTransaction} does; in the caller's transaction, within a
     * savepoint it then rolls back to, so that nothing it set outlives it there.
     *
     * @throws X what {@code work} threw
     */
    public static <R, X extends Exception> R inReadingTransaction(Jdbi jdbi, HandleCallback<R, X> work) throws X {
        return inReadCommittedTransaction(jdbi, handle -> {
            if (!isCallersTransaction(handle)) {
                return work.withHandle(handle);
            }
            handle.savepoint(READING);
            try {
                return work.withHandle(handle);
            } finally {
                handle.rollbackToSavepoint(READING);
            }
        });
    }

    /**
     * Whether {@code connection} is inside a transaction that has already run a statement, which
     * only its caller may end (a pool's connection handed out with auto-commit off has none open).
     *
     * @throws OutboxException when auto-commit is off and the connection does not unwrap to the
     *                         driver's, which alone can say: taken as the caller's, the work would
     *                         be reported done and never committed; taken as idle, a caller's
     *                         transaction would be committed under it
     */
    private static boolean inCallersTransaction(Connection connection) throws SQLException {
        if (connection.getAutoCommit()) {
            return false;
        }
        if (!connection.isWrapperFor(BaseConnection.class)) {
            throw new OutboxException("the outbox library cannot tell whether a connection with auto-commit off is "
                    + "inside the application's transaction: the pool's connection (" + connection.getClass().getName()
                    + ") does not unwrap to the PostgreSQL driver's org.postgresql.core.BaseConnection (isWrapperFor "
                    + "returned false). Make the wrapper delegate isWrapperFor and unwrap to the connection it wraps, "
                    + "or give the library connections with auto-commit on");
        }
        return connection.unwrap(BaseConnection.class).getTransactionState() != TransactionState.IDLE;
    }

    /**
     * Whether {@code handle} is in the caller's transaction (see the class comment), which the work
     * joins: a setting it makes local to its transaction would then outlive it, in the caller's.
     *
     * @throws ConnectionException when the connection cannot say
     */
    public static boolean isCallersTransaction(Handle handle) {
        if (Boolean.TRUE.equals(handle.getConfig(SqlStatements.class).getAttribute(OWN_TRANSACTION))) {
            return false;
        }
        try {
            return inCallersTransaction(handle.getConnection());
        } catch (SQLException e) {
            throw new ConnectionException(e);
        }
    }

    /** Ends what a failure left open on a {@link #readCommitted} connection, and restores its auto-commit setting. */
    private static void release(Connection connection, boolean autoCommit) {
        try {
            connection.rollback(); // local in pgjdbc when no transaction is open
            connection.setAutoCommit(autoCommit);
        } catch (SQLException e) {
            // a broken connection: the pool discards it
        }
    }

    private static void restoreAutoCommitOff(Connection connection) {
        try {
            connection.setAutoCommit(false);
        } catch (SQLException e) {
            // a broken connection: the pool discards it
        }
    }
}
