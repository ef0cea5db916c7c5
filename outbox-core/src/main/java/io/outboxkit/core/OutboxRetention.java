package io.outboxkit.core;

import io.outboxkit.core.internal.OutboxSql;
import io.outboxkit.core.internal.OwnConnections;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the outbox tables bounded: deletes PUBLISHED messages older than the retention period, and
 * {@code processed_messages} rows older than the deduplication window.
 *
 * <p>Deletes in small batches, each its own short transaction that skips rows others hold locked,
 * so it never blocks writers or pollers for long. PENDING and DEAD messages are never deleted.
 * The deduplication window must exceed the longest time a message can still be redelivered
 * (the poller's whole retry schedule, plus any operator requeue), or a late duplicate would be
 * processed again. Thread-safe.
 *
 * <p>Deleted rows leave dead tuples that only VACUUM turns into reusable space, and so do delivered
 * messages: each leaves a dead entry in the index the poller's claim walks, and a drained backlog
 * of a million messages makes every claim walk thousands of index pages until the table is
 * vacuumed. Autovacuum does that where it runs; on a server where it is off, or too slow for a
 * queue table, turn on {@link Builder#vacuum(boolean)}: every run then vacuums a table it deleted
 * from, and the outbox whenever PostgreSQL counts at least {@value #VACUUM_DEAD_ROWS} dead rows
 * in it and at least a hundredth of its live rows (a plain VACUUM,
 * which blocks neither writers nor pollers). VACUUM needs the table's or the database's owner (or,
 * on PostgreSQL 17 and later, the MAINTAIN privilege): PostgreSQL would skip a table the role may not vacuum with no
 * more than a warning, so a run asks first, and reports such a table in {@link Result#vacuumSkipped()}
 * and logs it at WARN the first time.
 *
 * <p>The outbox and {@code processed_messages} are trimmed independently, each deleted from and
 * then vacuumed: a run whose step on one table fails still does the other's, then throws. A run
 * is resumable: interrupting its thread (a service that stops) ends it after the batch in progress,
 * and the next run deletes the rest.
 */
public final class OutboxRetention {

    /** Published messages are kept this long unless set: 7 days. */
    public static final Duration DEFAULT_PUBLISHED_RETENTION = Duration.ofDays(7);
    /** Processed-message records are kept this long unless set: 30 days. */
    public static final Duration DEFAULT_DEDUP_WINDOW = Duration.ofDays(30);
    /** The longest retention or window: a hundred years (longer is a mistake, and overflows PostgreSQL's timestamps). */
    public static final Duration MAX_RETENTION = Duration.ofDays(36_500);
    /** Rows deleted per transaction unless set: 1,000. */
    public static final int DEFAULT_BATCH_SIZE = 1_000;
    /** With {@link Builder#vacuum(boolean)}, the outbox is vacuumed once it holds at least this many dead rows (and a hundredth of its live ones). */
    public static final long VACUUM_DEAD_ROWS = 10_000;

    private static final Logger LOG = LoggerFactory.getLogger(OutboxRetention.class);

    /**
     * How long a stopping run cancels its VACUUM before it aborts the connection: PostgreSQL ends a
     * cancelled statement within milliseconds; well within RetentionTask's 2 s wait for a stop.
     */
    private static final Duration CANCEL_WAIT = Duration.ofMillis(1_000);
    private static final Duration CANCEL_RETRY = Duration.ofMillis(50);

    private final Jdbi jdbi;
    private final OutboxSql sql;
    private final Duration publishedRetention;
    private final Duration dedupWindow;
    private final int batchSize;
    private final boolean vacuum;
    private final boolean processedMessagesOnly;
    /** The tables whose skipped VACUUM has been logged, so that it is logged once, not every run. */
    private final Set<String> skipLogged = ConcurrentHashMap.newKeySet();

    private OutboxRetention(Builder b) {
        this.jdbi = b.jdbi;
        this.sql = new OutboxSql(b.names);
        this.publishedRetention = b.publishedRetention;
        this.dedupWindow = b.dedupWindow;
        this.batchSize = b.batchSize;
        this.vacuum = b.vacuum;
        this.processedMessagesOnly = b.processedMessagesOnly;
    }

    /** A builder for retention over {@code jdbi}'s database. */
    public static Builder builder(Jdbi jdbi) {
        return new Builder(jdbi);
    }

    /**
     * How many rows one {@link #runOnce()} deleted, and which VACUUMs it skipped.
     *
     * @param publishedMessages outbox rows (PUBLISHED only)
     * @param processedMessages processed-message records
     * @param vacuumSkipped the tables (as SQL names them, e.g. {@link OutboxNames#qualifiedOutboxTable()})
     *     that {@link Builder#vacuum(boolean)} was to vacuum and that were not, because the role may
     *     not vacuum them (it needs the table's or the database's owner, or MAINTAIN on PostgreSQL 17
     *     and later); empty
     *     when every VACUUM ran or none was due
     */
    public record Result(long publishedMessages, long processedMessages, List<String> vacuumSkipped) {

        /** A result whose VACUUMs, if any, all ran. */
        public Result(long publishedMessages, long processedMessages) {
            this(publishedMessages, processedMessages, List.of());
        }

        /** Copies {@code vacuumSkipped}. */
        public Result {
            vacuumSkipped = List.copyOf(vacuumSkipped);
        }
    }

    /**
     * Deletes everything past its period now, batch by batch, and returns the counts. The outbox is
     * deleted from and vacuumed first, then {@code processed_messages}; a failure on one does not
     * stop the other.
     *
     * <p>Interrupting the thread that runs it stops it between batches: the batch in progress is
     * committed, nothing more is deleted or vacuumed, and it returns what it deleted so far with
     * the thread's interrupt status still set; the next run deletes the rest.
     *
     * @throws OutboxException when the database failed on either table, after both were tried: its
     *     message names the table(s) that failed and what was deleted (batches already deleted stay
     *     deleted); a second failure is attached as suppressed
     */
    public Result runOnce() {
        List<String> skipped = new ArrayList<>(2);
        List<OutboxException> failures = new ArrayList<>(2);
        long outbox = processedMessagesOnly ? 0 : expire(sql.deletePublished, publishedRetention,
                "published outbox messages", sql.outbox(), true, skipped, failures);
        long processed = expire(sql.deleteProcessed, dedupWindow, "processed-message records", sql.processed(), false,
                skipped, failures);
        if (!failures.isEmpty()) {
            StringBuilder message = new StringBuilder();
            for (OutboxException failure : failures) {
                message.append(message.isEmpty() ? "" : "; ").append(failure.getMessage());
            }
            message.append(" (this run: ").append(outbox).append(" published outbox message(s) deleted, ")
                    .append(processed).append(" processed-message record(s) deleted)");
            OutboxException thrown = new OutboxException(message.toString(), failures.get(0).getCause());
            failures.stream().skip(1).forEach(thrown::addSuppressed);
            throw thrown;
        }
        return new Result(outbox, processed, skipped);
    }

    /**
     * One table's part of a run: deletes its rows older than {@code age}, then vacuums it when
     * asked to and rows were deleted (or, with {@code vacuumOnDeadRows}, it holds many dead ones).
     * Returns how many rows it deleted, also when it failed part way: a failure goes to {@code
     * failures}, and the batches deleted before it stay deleted.
     */
    private long expire(String deleteSql, Duration age, String what, String table, boolean vacuumOnDeadRows,
            List<String> skipped, List<OutboxException> failures) {
        long[] deleted = {0};
        try {
            deleteInBatches(deleteSql, age, what, table, deleted);
            if (vacuum && !Thread.currentThread().isInterrupted() && (deleted[0] > 0 || (vacuumOnDeadRows && manyDeadRows(table)))) {
                vacuum(table, skipped);
            }
        } catch (OutboxException e) {
            failures.add(e);
        }
        return deleted[0];
    }

    /** Whether PostgreSQL's statistics count enough dead rows in {@code table} to vacuum it (false while it has none). */
    private boolean manyDeadRows(String table) {
        try (Handle handle = OwnConnections.open(jdbi)) {
            return handle.createQuery("SELECT n_dead_tup >= greatest(:least, n_live_tup / 100) FROM pg_stat_user_tables "
                            + "WHERE relid = to_regclass(:table)")
                    .bind("least", VACUUM_DEAD_ROWS).bind("table", table).mapTo(Boolean.class).findOne().orElse(false);
        } catch (RuntimeException e) {
            throw new OutboxException("could not read the dead rows of " + table + ": " + e.getMessage(), e);
        }
    }

    /** Vacuums {@code table}, or adds it to {@code skipped} when the role may not vacuum it (PostgreSQL would skip it). */
    private void vacuum(String table, List<String> skipped) {
        try (Handle handle = OwnConnections.autoCommitting(jdbi)) { // VACUUM cannot run inside a transaction
            // PostgreSQL skips a table the role may not vacuum with only a WARNING, which a role with
            // client_min_messages above it never receives: ask first, as PostgreSQL decides.
            if (!mayVacuum(handle, table)) {
                skipped.add(table);
                if (skipLogged.add(table)) {
                    LOG.warn("retention does not vacuum {}: its role may not (PostgreSQL would skip it), so the table's "
                            + "dead rows are reclaimed only by autovacuum, if it runs. Connect retention as the table's "
                            + "or the database's owner (or grant MAINTAIN on the table, PostgreSQL 17 and later), or "
                            + "turn vacuum off. Logged once.",
                            table);
                }
                return;
            }
            try (var statement = handle.getConnection().createStatement()) {
                executeUnlessStopped(statement, "VACUUM " + table);
            }
        } catch (SQLException | JdbiException e) {
            throw new OutboxException("could not vacuum " + table + ": " + e.getMessage(), e);
        }
    }

    /**
     * Runs {@code sql}, or, when this thread is interrupted before or meanwhile (a service
     * stopping), does not start it or cancels it, and returns with the interrupt kept: a VACUUM of
     * a large table may run for minutes, and the pool must not be closed under it. The statement
     * runs on a thread of its own, since a JDBC call does not heed interrupts; on return it has
     * ended, or its connection was aborted (never handed back to the pool while it runs).
     */
    private static void executeUnlessStopped(Statement statement, String sql) throws SQLException {
        if (Thread.currentThread().isInterrupted()) {
            return;
        }
        FutureTask<Void> running = new FutureTask<>(() -> {
            statement.execute(sql);
            return null;
        });
        Thread runner = new Thread(running, "outbox-retention-vacuum");
        runner.setDaemon(true);
        runner.start();
        try {
            running.get();
        } catch (InterruptedException stop) {
            cancel(statement, runner);
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof SQLException failure ? failure : new SQLException(e.getCause());
        }
    }

    /**
     * Cancels {@code statement} until {@code runner} ends (the driver ignores a cancel that comes
     * before the statement reached the server), within {@link #CANCEL_WAIT}; past that, aborts its
     * connection, so that the pool never gets it back while the statement runs.
     */
    private static void cancel(Statement statement, Thread runner) throws SQLException {
        long deadline = System.nanoTime() + CANCEL_WAIT.toNanos();
        while (runner.isAlive() && deadline - System.nanoTime() > 0) {
            statement.cancel();
            joinUninterruptibly(runner, CANCEL_RETRY);
        }
        if (runner.isAlive()) {
            statement.getConnection().abort(Runnable::run);
        }
    }

    /** Waits up to {@code bound} for {@code thread} to end, whatever interrupts come meanwhile. */
    private static void joinUninterruptibly(Thread thread, Duration bound) {
        long deadline = System.nanoTime() + bound.toNanos();
        while (thread.isAlive() && deadline - System.nanoTime() > 0) {
            try {
                thread.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            } catch (InterruptedException again) {
                // the interrupt is restored by the caller
            }
        }
    }

    /**
     * Whether the current role may vacuum {@code table}, as PostgreSQL decides: a superuser, a
     * member of the table's owner or of the database's owner (the outbox is never a shared
     * catalog), and from PostgreSQL 17 a holder of MAINTAIN.
     */
    private static boolean mayVacuum(Handle handle, String table) {
        // CASE, not AND: PostgreSQL before 17 rejects the MAINTAIN privilege's name, and may evaluate AND/OR in any order.
        return handle.createQuery("""
                        SELECT pg_has_role(c.relowner, 'USAGE')
                            OR pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE')
                            OR CASE WHEN current_setting('server_version_num')::int >= 170000
                                THEN has_table_privilege(c.oid, 'MAINTAIN') ELSE false END
                        FROM pg_class c WHERE c.oid = to_regclass(:table)""")
                .bind("table", table).mapTo(Boolean.class).findOne().orElse(false);
    }

    /**
     * Deletes batch by batch, each committed on its own, adding each batch's count to {@code
     * deleted[0]}, until none is left or the thread is interrupted.
     */
    private void deleteInBatches(String sql, Duration age, String what, String table, long[] deleted) {
        try {
            int batch = batchSize;
            // The interrupt is checked between batches: PostgreSQL's driver does not heed it in a statement.
            while (batch == batchSize && !Thread.currentThread().isInterrupted()) {
                batch = OwnConnections.inReadCommittedTransaction(jdbi, h -> {
                    try (PreparedStatement delete = h.getConnection().prepareStatement(sql)) {
                        delete.setLong(1, age.toMillis());
                        delete.setInt(2, batchSize);
                        return delete.executeUpdate();
                    }
                });
                deleted[0] += batch;
            }
        } catch (SQLException | JdbiException e) {
            throw new OutboxException("could not delete " + what + " older than " + age + " from " + table + " ("
                    + deleted[0] + " deleted before the failure): " + e.getMessage(), e);
        }
    }

    /** Configures {@link OutboxRetention}; {@link #build()} validates and names the option at fault. */
    public static final class Builder {
        private final Jdbi jdbi;
        private Duration publishedRetention = DEFAULT_PUBLISHED_RETENTION;
        private Duration dedupWindow = DEFAULT_DEDUP_WINDOW;
        private int batchSize = DEFAULT_BATCH_SIZE;
        private boolean vacuum;
        private boolean processedMessagesOnly;
        private OutboxNames names = OutboxNames.DEFAULT;

        private Builder(Jdbi jdbi) {
            this.jdbi = Objects.requireNonNull(jdbi, "jdbi");
        }

        /** The outbox's tables; default {@link OutboxNames#DEFAULT}. */
        public Builder names(OutboxNames names) {
            this.names = names;
            return this;
        }

        /** How long PUBLISHED messages are kept, up to {@link #MAX_RETENTION}; default 7 days. */
        public Builder publishedRetention(Duration retention) {
            this.publishedRetention = retention;
            return this;
        }

        /** How long processed-message records are kept for deduplication, up to {@link #MAX_RETENTION}; default 30 days. */
        public Builder dedupWindow(Duration window) {
            this.dedupWindow = window;
            return this;
        }

        /** Rows deleted per transaction, 1 to 100,000; default 1,000. */
        public Builder batchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /**
         * Whether a run then runs VACUUM on a table it deleted rows from, and on the outbox once it
         * holds many dead rows (see the class comment); default false (leave it to autovacuum). For
         * servers where autovacuum is off or falls behind the stream. VACUUM needs the table's or the
         * database's owner (or MAINTAIN on PostgreSQL 17 and later): a skipped one is reported in
         * {@link Result#vacuumSkipped()} and logged once at WARN.
         */
        public Builder vacuum(boolean vacuum) {
            this.vacuum = vacuum;
            return this;
        }

        /**
         * Whether a run keeps to the processed-message records: the outbox is then neither deleted
         * from nor vacuumed, and {@link Result#publishedMessages()} is 0; default false. For a
         * consumer, whose database's outbox, if it has one, is a relay's to trim.
         */
        public Builder processedMessagesOnly(boolean only) {
            this.processedMessagesOnly = only;
            return this;
        }

        /**
         * Retention with these options.
         *
         * @throws InvalidOptionException naming the first invalid option
         */
        public OutboxRetention build() {
            if (names == null) {
                throw new InvalidOptionException("OutboxRetention", List.of("names"), "names must not be null");
            }
            requireRetention("publishedRetention", publishedRetention);
            requireRetention("dedupWindow", dedupWindow);
            if (batchSize < 1 || batchSize > 100_000) {
                throw new InvalidOptionException("OutboxRetention", List.of("batchSize"),
                        "batchSize must be 1 to 100000, was " + batchSize);
            }
            return new OutboxRetention(this);
        }

        private static void requireRetention(String option, Duration value) {
            if (value == null || value.isNegative() || value.compareTo(MAX_RETENTION) > 0) {
                throw new InvalidOptionException("OutboxRetention", List.of(option),
                        option + " must be zero to " + MAX_RETENTION.toDays() + " days, was " + value);
            }
        }
    }
}
