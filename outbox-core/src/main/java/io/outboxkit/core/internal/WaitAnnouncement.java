package io.outboxkit.core.internal;

import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxNames;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A poller's announcement that it waits for a notification: commits to the outbox notify only
 * while one is in force (schema version 3). It lasts twice the poll interval, so that it covers
 * the whole of any wait that starts with at least one poll interval of it left; a worker renews it
 * before waiting when less is left. Shared by a poller's workers. Thread-safe.
 *
 * <p>Why nothing is missed: see {@code V3__notify_only_while_waiting.sql}. The announcement takes
 * the wake-up lock only if no writer holds it; a poller must look for due messages once more after
 * it announced ({@link Outcome#ANNOUNCED}) before it waits, because a writer may have committed
 * between its last look and the announcement without notifying.
 */
public final class WaitAnnouncement {

    /** SQLSTATE undefined_table: a schema before version 3, whose every commit notifies. */
    private static final String UNDEFINED_TABLE = "42P01";

    private static final Logger LOG = LoggerFactory.getLogger(WaitAnnouncement.class);

    /** What became of a request to announce. */
    public enum Outcome {
        /** An announcement was already in force for the whole of the next wait: wait. */
        IN_FORCE,
        /** Announced, and before it may have lapsed: look for due messages once more, then wait. */
        ANNOUNCED,
        /** A writer's transaction holds the wake-up lock: look for due messages again rather than wait. */
        WRITER_BUSY
    }

    private final Jdbi jdbi;
    private final String announce;
    private final String withdraw;
    private final Duration pollInterval;
    private final long lastsMillis;
    private final String name;
    /** System.nanoTime() before which the newest announcement is surely in force. */
    private final AtomicLong inForceUntil;
    private final AtomicLong announced = new AtomicLong();
    private final AtomicLong withdrawn = new AtomicLong();
    private final AtomicLong failedWithdrawals = new AtomicLong();
    private final Object lock = new Object();
    private volatile boolean schemaBeforeVersion3;
    private volatile Runnable beforeAnnouncing = () -> { };

    /** Announcements for the outbox {@code names} name, by a poller of {@code pollInterval}; {@code name} prefixes log lines. */
    public WaitAnnouncement(Jdbi jdbi, OutboxNames names, Duration pollInterval, String name) {
        this.jdbi = jdbi;
        OutboxSql sql = new OutboxSql(names);
        this.announce = OutboxSql.ownTransaction(sql.announceWaiting);
        this.withdraw = OutboxSql.ownTransaction(sql.withdrawWaiting);
        this.pollInterval = pollInterval;
        this.lastsMillis = pollInterval.multipliedBy(2).toMillis();
        this.name = name;
        this.inForceUntil = new AtomicLong(System.nanoTime());
    }

    /** Whether an announcement is in force for at least one more poll interval: a wait now needs no new one. */
    public boolean inForce() {
        return inForceUntil.get() - System.nanoTime() >= pollInterval.toNanos();
    }

    /** Runs {@code hook} on the poller's thread right before each announcement is made (for tests: a commit in the race). */
    public void beforeAnnouncing(Runnable hook) {
        this.beforeAnnouncing = hook;
    }

    /** Takes the announcement as lapsed, as after twice the poll interval busy (for tests). */
    public void lapse() {
        inForceUntil.set(System.nanoTime());
    }

    /** How many times the announcement was withdrawn so far. */
    public long withdrawals() {
        return withdrawn.get();
    }

    /**
     * Withdraws the announcement, this poller's and any other's: commits stop notifying until a
     * poller announces again. For a poller that looks on its own meanwhile (see {@link PollingPace}).
     * A withdrawal that fails leaves commits notifying: it is logged, not thrown.
     *
     * @return whether the announcement is withdrawn (false: it failed, or there is no wake-up table)
     */
    public boolean withdraw() {
        synchronized (lock) {
            inForceUntil.set(System.nanoTime());
            if (schemaBeforeVersion3) {
                return false;
            }
            try (Handle handle = OwnConnections.readCommitted(jdbi);
                 Statement statement = handle.getConnection().createStatement()) {
                statement.execute(withdraw);
                withdrawn.incrementAndGet();
                return true;
            } catch (SQLException | RuntimeException e) {
                // Once at WARN: commits go on notifying, which costs them, and says the wake-up table is amiss.
                if (failedWithdrawals.getAndIncrement() == 0) {
                    LOG.warn("[{}] could not withdraw the announcement that it waits (commits go on notifying; "
                            + "further failures at DEBUG): {}", name, e.getMessage());
                } else {
                    LOG.debug("[{}] could not withdraw the announcement that it waits: {}", name, e.getMessage());
                }
                return false;
            }
        }
    }

    /** How many announcements were made so far. */
    public long announcements() {
        return announced.get();
    }

    /**
     * Makes sure an announcement covers the next wait (of at most one poll interval), renewing it
     * when less than that is left.
     *
     * @throws OutboxException when the database failed
     */
    public Outcome beforeWaiting() {
        if (inForceUntil.get() - System.nanoTime() >= pollInterval.toNanos()) {
            return Outcome.IN_FORCE;
        }
        beforeAnnouncing.run();
        // One at a time with withdrawals: a withdrawal between this statement and the record of its
        // end would leave this poller taking for in force what the database no longer holds.
        synchronized (lock) {
            long start = System.nanoTime();
            long previous = inForceUntil.get();
            if (previous - start >= pollInterval.toNanos()) {
                return Outcome.IN_FORCE; // another worker renewed it meanwhile
            }
            return announce(start, previous);
        }
    }

    private Outcome announce(long start, long previous) {
        try (Handle handle = OwnConnections.readCommitted(jdbi);
             PreparedStatement statement = handle.getConnection().prepareStatement(announce)) {
            statement.setLong(1, lastsMillis);
            statement.execute();
            statement.getMoreResults(); // past the isolation's result, to the announcement's rows
            boolean made;
            try (ResultSet rs = statement.getResultSet()) {
                made = rs.next();
            }
            long end = System.nanoTime();
            if (!made) {
                return Outcome.WRITER_BUSY;
            }
            announced.incrementAndGet();
            // now() in the database is after start: the announcement lasts at least this long.
            inForceUntil.accumulateAndGet(start + lastsMillis * 1_000_000L, Math::max);
            if (schemaBeforeVersion3) {
                schemaBeforeVersion3 = false;
                LOG.info("[{}] the outbox's schema is at version 3: commits now notify only while a poller waits", name);
            }
            // A writer that committed before the announcement, after the previous one lapsed, did not notify.
            return previous - end > 0 ? Outcome.IN_FORCE : Outcome.ANNOUNCED;
        } catch (SQLException e) {
            if (UNDEFINED_TABLE.equals(e.getSQLState())) {
                // Before version 3 every commit notifies; asked again before each wait, to see the migration.
                if (!schemaBeforeVersion3) {
                    schemaBeforeVersion3 = true;
                    LOG.info("[{}] the outbox's schema is before version 3 (no wake-up table): every commit notifies", name);
                }
                inForceUntil.accumulateAndGet(start + pollInterval.toNanos(), Math::max);
                return Outcome.IN_FORCE;
            }
            throw new OutboxException("could not announce that the poller waits: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new OutboxException("could not announce that the poller waits: " + e.getMessage(), e);
        }
    }
}
