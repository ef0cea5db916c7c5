package io.outboxkit.core.internal;

import java.sql.Connection;
import java.sql.SQLException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;

/**
 * The library's own units of work on connections it borrows from the application's pool, which
 * commit what they mean to whatever auto-commit setting the pool gives its connections. A pool
 * may hand them out with auto-commit off (HikariCP's {@code autoCommit=false}, common beside
 * JPA): a statement then opens a transaction nobody commits, which the pool rolls back when it
 * takes the connection back, and Jdbi's {@code inTransaction} joins that transaction instead of
 * committing one of its own. Either way the work is lost without an error.
 */
public final class OwnConnections {

    private OwnConnections() {
    }

    /**
     * A handle on a connection of {@code jdbi}'s in auto-commit mode: each statement (or
     * multi-statement string) commits on its own. Closing the handle gives the connection back with
     * the setting it came with. Not for {@link Handle#inTransaction}: use {@link #inTransaction}.
     *
     * @throws SQLException when the connection's setting cannot be read or changed (the handle is closed)
     */
    public static Handle autoCommitting(Jdbi jdbi) throws SQLException {
        Handle handle = jdbi.open();
        try {
            Connection connection = handle.getConnection();
            // Local in pgjdbc (no round trip), and so is the switch on a connection with no transaction open.
            if (!connection.getAutoCommit()) {
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
     * setting; returns what it returned.
     *
     * @throws X                                             what {@code work} threw (after the rollback)
     * @throws org.jdbi.v3.core.transaction.TransactionException when the commit failed (the transaction is rolled back)
     */
    public static <R, X extends Exception> R inTransaction(Jdbi jdbi, HandleCallback<R, X> work) throws X {
        try (Handle handle = jdbi.open()) {
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

    private static void restoreAutoCommitOff(Connection connection) {
        try {
            connection.setAutoCommit(false);
        } catch (SQLException e) {
            // a broken connection: the pool discards it
        }
    }
}
