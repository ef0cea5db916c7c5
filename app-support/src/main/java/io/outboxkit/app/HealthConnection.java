package io.outboxkit.app;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * The readiness check's own connection, outside the pool: a pool that requests hold whole (a burst
 * waiting on a row lock, say) says nothing about the database, and a probe waiting the pool's 2 s
 * for a connection would read a busy replica as down. Opened at the first check, reopened after a
 * failure, closed with its {@link Database}: one connection per service at most, and none for a
 * tool that never asks.
 *
 * <p>A reading is kept for {@link #READING_KEPT}, so however many probes ask, the database answers
 * at most one check a second; a probe that arrives while another checks gets the previous reading
 * rather than queueing behind it. Thread-safe.
 */
final class HealthConnection implements AutoCloseable {

    /** How long a reading answers for: 1 s. */
    static final Duration READING_KEPT = Duration.ofSeconds(1);
    /** How long a check waits for a connection or an answer, in seconds: a probe's own timeout is usually 1 s. */
    private static final int TIMEOUT_SECONDS = 1;

    private record Reading(boolean up, long atNanos) {
    }

    private final DatabaseSettings settings;
    private final LongSupplier nanoClock;
    private final ReentrantLock checking = new ReentrantLock();
    private Connection connection; // guarded by checking
    private boolean closed; // guarded by checking
    private volatile Reading last;

    HealthConnection(DatabaseSettings settings) {
        this(settings, System::nanoTime);
    }

    /** As the other constructor, reading a reading's age from {@code nanoClock}: a test's own clock. */
    HealthConnection(DatabaseSettings settings, LongSupplier nanoClock) {
        this.settings = settings;
        this.nanoClock = nanoClock;
    }

    /** Whether the database answered a trivial query, now or within the last {@link #READING_KEPT}. */
    boolean isUp() {
        Reading reading = last;
        if (isFresh(reading)) {
            return reading.up();
        }
        if (!checking.tryLock()) {
            if (reading != null) {
                return reading.up();
            }
            checking.lock(); // the very first reading: nothing older to answer with
        }
        try {
            reading = last;
            if (isFresh(reading)) {
                return reading.up();
            }
            boolean up = !closed && check();
            last = new Reading(up, nanoClock.getAsLong());
            return up;
        } finally {
            checking.unlock();
        }
    }

    private boolean isFresh(Reading reading) {
        return reading != null && nanoClock.getAsLong() - reading.atNanos() < READING_KEPT.toNanos();
    }

    /** One query on the kept connection; a broken one (the server restarted) is replaced once. */
    private boolean check() {
        if (connection != null && isValid(connection)) {
            return true;
        }
        closeConnection();
        try {
            connection = open();
        } catch (SQLException e) {
            return false;
        }
        return isValid(connection);
    }

    private static boolean isValid(Connection connection) {
        try {
            return connection.isValid(TIMEOUT_SECONDS);
        } catch (SQLException e) {
            return false;
        }
    }

    private Connection open() throws SQLException {
        Properties properties = new Properties();
        // As the pool's connections: the password as a property, never in a URL the driver may log.
        if (settings.user() != null) {
            properties.setProperty("user", settings.user());
        }
        if (settings.effectivePassword() != null) {
            properties.setProperty("password", settings.effectivePassword());
        }
        properties.setProperty("connectTimeout", Integer.toString(TIMEOUT_SECONDS));
        properties.setProperty("loginTimeout", Integer.toString(TIMEOUT_SECONDS));
        properties.setProperty("socketTimeout", Integer.toString(TIMEOUT_SECONDS + 1));
        properties.setProperty("tcpKeepAlive", "true");
        properties.setProperty("ApplicationName", "health check");
        return DriverManager.getConnection(settings.urlWithoutPassword(), properties);
    }

    private void closeConnection() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                // a broken connection: nothing to give back
            }
            connection = null;
        }
    }

    /** Closes the connection; every check from now on reads down. Waits for a check in progress. */
    @Override
    public void close() {
        checking.lock();
        try {
            closed = true;
            last = new Reading(false, nanoClock.getAsLong());
            closeConnection();
        } finally {
            checking.unlock();
        }
    }
}
