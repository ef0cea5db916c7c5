package io.outboxkit.core.internal;

import java.sql.Connection;
import java.sql.SQLException;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
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
 * caller's: the work joins that transaction, and neither commits nor rolls it back.
 */
public final class OwnConnections {

    /** The savepoint a reading unit of work rolls back to in the caller's transaction. */
    private static final String READING = "outboxkit_reading";

    private OwnConnections() {
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
        Handle handle = jdbi.open();
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
     * it returned.
     *
     * @throws X                                             what {@code work} threw (after the rollback)
     * @throws org.jdbi.v3.core.transaction.TransactionException when the commit failed (the transaction is rolled back)
     */
    public static <R, X extends Exception> R inTransaction(Jdbi jdbi, HandleCallback<R, X> work) throws X {
        try (Handle handle = jdbi.open()) {
            if (isCallersTransaction(handle)) {
                return work.withHandle(handle);
            }
            // Jdbi's begin and commit, unlike its inTransaction, also commit on a connection that came
            // with auto-commit off (begin finds the transaction open, commit commits it), and run the
            // afterCommit callbacks a handler may register.
            handle.begin();
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
     * Runs {@code work}, which only reads (under settings it makes local to its transaction: a
     * statement timeout, say), as {@link #inTransaction} does; in the caller's transaction, within a
     * savepoint it then rolls back to, so that nothing it set outlives it there.
     *
     * @throws X what {@code work} threw
     */
    public static <R, X extends Exception> R inReadingTransaction(Jdbi jdbi, HandleCallback<R, X> work) throws X {
        return inTransaction(jdbi, handle -> {
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
     * One the driver cannot say this of is taken as the caller's.
     */
    private static boolean inCallersTransaction(Connection connection) throws SQLException {
        if (connection.getAutoCommit()) {
            return false;
        }
        return !connection.isWrapperFor(BaseConnection.class)
                || connection.unwrap(BaseConnection.class).getTransactionState() != TransactionState.IDLE;
    }

    /**
     * Whether {@code handle} is in the caller's transaction (see the class comment), which the work
     * joins: a setting it makes local to its transaction would then outlive it, in the caller's.
     *
     * @throws ConnectionException when the connection cannot say
     */
    public static boolean isCallersTransaction(Handle handle) {
        try {
            return inCallersTransaction(handle.getConnection());
        } catch (SQLException e) {
            throw new ConnectionException(e);
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
