package io.outboxkit.orders;

import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * An order's row locked by a transaction of the test's own: every payment or cancellation of it
 * waits, holding its pooled connection, until {@link #release()} (as under a burst of payments of
 * one order). Closing releases it too.
 */
final class HeldOrderLock implements AutoCloseable {

    private final Connection connection;

    private HeldOrderLock(Connection connection) {
        this.connection = connection;
    }

    /** Locks order {@code orderId}'s row in {@code db}. */
    static HeldOrderLock hold(PostgresExtension db, String orderId) throws SQLException {
        Connection connection = db.dataSource().getConnection();
        try {
            connection.setAutoCommit(false);
            try (PreparedStatement select = connection.prepareStatement("SELECT 1 FROM orders WHERE id = ?::uuid FOR UPDATE")) {
                select.setString(1, orderId);
                select.executeQuery().close();
            }
        } catch (SQLException | RuntimeException e) {
            connection.close();
            throw e;
        }
        return new HeldOrderLock(connection);
    }

    /** How many sessions of the database wait for a lock (this one's, in these tests). */
    int waiters() throws SQLException {
        try (PreparedStatement count = connection.prepareStatement(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
             ResultSet rows = count.executeQuery()) {
            rows.next();
            return rows.getInt(1);
        }
    }

    /** Lets the waiting requests go on. */
    void release() throws SQLException {
        connection.rollback();
    }

    @Override
    public void close() throws SQLException {
        try {
            connection.rollback();
        } finally {
            connection.close();
        }
    }
}
