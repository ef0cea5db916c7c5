package io.outboxkit.core.internal;

import io.outboxkit.core.ClaimMode;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.PollerSettings;
import io.outboxkit.core.spi.Texts;
import io.outboxkit.core.spi.TransportHeaders;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.LongSupplier;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.postgresql.PGConnection;
import org.postgresql.PGStatement;

/** The poller's statements, each its own short transaction. */
public final class OutboxStore {

    private static final int MAX_ERROR_LENGTH = 2_000;
    /** PostgreSQL's SQLSTATE for a statement cancelled, by its timeout among others. */
    private static final String QUERY_CANCELED = "57014";
    private static final Comparator<OutboxMessage> WRITE_ORDER = Comparator.comparingLong(OutboxMessage::sequence);
    /** The results before a statement's own in a transaction of its own: the isolation's, then the settings'. */
    private static final int OWN_TRANSACTION = 2;
    /** The results before a statement's own in a locked claim's open transaction: the settings'. */
    private static final int LOCKED_TRANSACTION = 1;

    private final Jdbi jdbi;
    private final PollerSettings settings;
    private final String claim;
    private final String markPublished;
    private final String markPublishedReportingLater;
    private final String markFailed;
    private final String giveBack;
    private final LongSupplier nanoClock;
    private final ClaimFloor floor;

    /** The statements of a poller with {@code settings}, run on {@code jdbi}'s connections. */
    public OutboxStore(Jdbi jdbi, PollerSettings settings) {
        this(jdbi, settings, System::nanoTime);
    }

    /** The same, with {@code nanoClock} in place of {@link System#nanoTime()} for when a claim reads from the start. */
    OutboxStore(Jdbi jdbi, PollerSettings settings, LongSupplier nanoClock) {
        this.jdbi = jdbi;
        this.settings = settings;
        this.nanoClock = nanoClock;
        this.floor = new ClaimFloor(nanoClock.getAsLong());
        OutboxSql sql = new OutboxSql(settings.names());
        boolean locked = settings.claimMode() == ClaimMode.LOCK;
        Duration timeout = settings.statementTimeout();
        this.claim = locked ? sql.lock(settings.orderedByAggregate(), settings.deadMessagesBlockAggregate(), timeout)
                : sql.claim(settings.orderedByAggregate(), settings.deadMessagesBlockAggregate(), timeout);
        this.markPublished = sql.markPublished(locked, settings.deleteOnPublish(), false, timeout);
        this.markPublishedReportingLater = sql.markPublished(locked, settings.deleteOnPublish(), true, timeout);
        this.markFailed = sql.markFailed(locked, timeout);
        this.giveBack = sql.giveBack(timeout);
    }

    /**
     * A failed delivery: the message, why, how long until its retry, and the trace context to record
     * in its headers with the failure ({@link ProducerSpans#contextToRecord}; empty: the headers
     * stay as they are).
     */
    public record Failure(OutboxMessage message, Exception cause, Duration delay, Map<String, String> trace) {

        /**
         * The error text recorded on the message: the exception's type and message, at most
         * 2,000 characters, always storable in a UTF8 database (PostgreSQL refuses a text with a
         * NUL character, and a failure that cannot be recorded would be retried forever); see
         * {@link #asciiError()} for the others.
         */
        public String error() {
            String text = cause.getMessage() == null ? cause.getClass().getSimpleName()
                    : cause.getClass().getSimpleName() + ": " + cause.getMessage();
            text = text.replace('\u0000', '\uFFFD');
            return Texts.cut(text, MAX_ERROR_LENGTH);
        }

        /**
         * {@link #error()} in printable ASCII ({@link TransportHeaders#ascii}): storable in a
         * database of any server encoding (LATIN1 lacks most of Unicode, and the server refuses
         * what its encoding cannot hold).
         */
        public String asciiError() {
            return TransportHeaders.ascii(error());
        }
    }

    /**
     * What recording a batch's outcome found.
     *
     * @param published    the delivered messages recorded as such: those still claimed (not
     *                     requeued meanwhile, nor recorded by another claim first)
     * @param dead         the messages now DEAD
     * @param laterPending whether a later message of a delivered one's aggregate is not yet
     *                     published (it may have been held back by the delivered one, and be due now)
     */
    public record Recorded(List<UUID> published, List<UUID> dead, boolean laterPending) {
    }

    /** Every message of {@code batch} failed with {@code cause}. */
    public static Map<UUID, Exception> allFailed(List<OutboxMessage> batch, Exception cause) {
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        batch.forEach(m -> failures.put(m.id(), cause));
        return failures;
    }

    /**
     * Messages a poller claimed, held until {@link #record} stores their outcome. {@link #close()}
     * releases whatever {@code record} did not: a locked claim rolls back (its messages are
     * claimable again at once), a leased one stays leased until its lease ends.
     */
    public interface Claim extends AutoCloseable {

        /** The claimed messages, in write order; empty when none was due. */
        List<OutboxMessage> messages();

        /**
         * Records the outcome: {@code delivered} become PUBLISHED (or are deleted when
         * the settings say so); {@code failures} are retried later, or DEAD after their last
         * attempt. {@link Recorded#laterPending()} is looked up only when {@code reportLater}
         * (else false).
         */
        Recorded record(List<UUID> delivered, List<Failure> failures, boolean reportLater);

        /**
         * Releases {@code ids} (of this claim's messages) at once without counting this attempt,
         * for a fault that is not theirs (a class the publisher's client lacks, a publisher that
         * did not send them): a leased claim takes its attempt back; a locked claim counts no
         * attempt for a message it does not record, and its transaction's end releases it. Best
         * effort: when the database cannot be reached, a leased claim stays leased until its lease
         * ends.
         */
        void giveBack(List<UUID> ids);

        @Override
        void close();
    }

    /** Claims up to a batch of due messages; see {@link #claim(int)}. */
    public Claim claim() {
        return claim(settings.batchSize());
    }

    /**
     * Claims up to {@code limit} due messages, sorted in write order, as the claim mode says; while
     * claims come back full, from the position {@link ClaimFloor} gives.
     */
    public Claim claim(int limit) {
        long startedAt = nanoClock.getAsLong();
        long from = floor.next(startedAt);
        Claim claim = settings.claimMode() == ClaimMode.LOCK ? lock(from, limit) : lease(from, limit);
        floor.claimed(startedAt, claim.messages(), limit);
        return claim;
    }

    /**
     * A leased claim: one statement in a transaction of its own, at READ COMMITTED, sent whole
     * with its settings and its commit in one round trip ({@link OutboxSql#ownTransaction}).
     *
     * <p>None of the poller's writes (this claim, the outcome recorded after delivery, a locked
     * claim's commit) waits for its WAL flush ({@code synchronous_commit = off} for its transaction
     * only), which saves a disk flush per batch, twice for a lease. The writes that must survive a
     * crash are the producer's (the message) and the consumer's (its effect, committed before it
     * answers), and both stay durable. A write of the poller's lost in a database crash is undone
     * as if the poller had died before making it: a lost claim returns its messages to PENDING, a
     * lost outcome leaves the messages to be delivered again, duplicates the idempotent consumer
     * skips. Order per aggregate holds too: a later message is claimed only once the earlier
     * one's outcome is committed, so its claim comes after that commit in the WAL, and a crash that
     * loses the outcome (WAL is recovered in order, up to a point) loses the later claim with it.
     * So a message is first delivered only after every earlier one of its aggregate; after a
     * database crash, an earlier one may come again after it, as a duplicate.
     */
    private Claim lease(long from, int limit) {
        return withConnection("claim messages", connection -> {
            try (PreparedStatement statement = prepared(connection, claim)) {
                statement.setString(1, settings.name());
                statement.setLong(2, settings.lease().toMillis());
                statement.setLong(3, from);
                statement.setInt(4, limit);
                long[] leaseEnd = new long[1];
                List<OutboxMessage> batch = readMessages(statement, OWN_TRANSACTION, leaseEnd);
                return new LeasedClaim(batch, settings.name(), leaseEnd[0]);
            }
        });
    }

    /**
     * A locked claim: a transaction at READ COMMITTED left open, on a connection of its own, until
     * recorded or closed.
     */
    private Claim lock(long from, int limit) {
        Handle handle = null;
        try {
            handle = OwnConnections.readCommitted(jdbi);
            List<OutboxMessage> batch;
            try (PreparedStatement statement = prepared(handle.getConnection(), claim)) {
                statement.setString(1, settings.lease().toMillis() + "ms");
                statement.setLong(2, from);
                statement.setInt(3, limit);
                batch = readMessages(statement, OWN_TRANSACTION, null);
            }
            if (batch.isEmpty()) {
                handle.close(); // locked nothing, wrote nothing: rolled back
                return new LeasedClaim(batch, null, 0);
            }
            return new LockedClaim(handle, batch);
        } catch (SQLException | RuntimeException e) {
            if (handle != null) {
                handle.close(); // rolls back
            }
            throw new OutboxException("could not claim messages: " + reason(e), e);
        } catch (Error e) {
            // Payloads too large for the heap, most likely: the locks and the connection must not outlive it.
            if (handle != null) {
                handle.close();
            }
            throw e;
        }
    }

    /**
     * Runs a claim (after {@code leading} statements that set its transaction up) and reads the
     * claim's rows, in write order; puts the claim's lease end (one for all its rows) in
     * {@code leaseEnd[0]} unless it is null (a locked claim).
     */
    private static List<OutboxMessage> readMessages(PreparedStatement statement, int leading, long[] leaseEnd)
            throws SQLException {
        List<OutboxMessage> batch = new ArrayList<>();
        try (ResultSet rs = rowsAfter(statement, leading)) {
            while (rs.next()) {
                batch.add(MessageRows.message(rs));
                if (leaseEnd != null && batch.size() == 1) {
                    leaseEnd[0] = rs.getLong("lease_end");
                }
            }
        }
        batch.sort(WRITE_ORDER);
        return batch;
    }

    /**
     * Runs a string of statements whose {@code leading} first set the transaction up; returns the
     * rows of the one after them (a commit after it, if any, has run too: the driver reads every
     * result of the string).
     */
    private static ResultSet rowsAfter(PreparedStatement statement, int leading) throws SQLException {
        statement.execute();
        boolean rows = false;
        for (int i = 0; i < leading; i++) {
            rows = statement.getMoreResults();
        }
        if (!rows) {
            throw new SQLException("the statement after the settings returned no rows");
        }
        return statement.getResultSet();
    }

    /**
     * A statement prepared on the server at its first execution on a connection, so that
     * PostgreSQL parses it once there. How it is planned, at each execution or once, is up to the
     * settings put before it: {@link OutboxSql#planEachTime} or {@link OutboxSql#cachedPlan}.
     * A connection that prepares nothing on the server ({@code prepareThreshold=0}, as behind a
     * pooler in transaction mode, where the next transaction may run on another server session)
     * is left so.
     */
    private static PreparedStatement prepared(Connection connection, String sql) throws SQLException {
        PreparedStatement statement = connection.prepareStatement(sql);
        PGStatement pg = statement.unwrap(PGStatement.class);
        if (pg.getPrepareThreshold() > 1) {
            pg.setPrepareThreshold(1);
        }
        return statement;
    }

    /** A committed lease: the outcome is recorded in transactions of its own, while the messages are still claimed (see {@link OutboxSql}). */
    private final class LeasedClaim implements Claim {
        private final List<OutboxMessage> messages;
        private final String owner;
        /** What tells this claim from any other of its messages (see {@link OutboxSql#markFailed}). */
        private final long leaseEnd;

        LeasedClaim(List<OutboxMessage> messages, String owner, long leaseEnd) {
            this.messages = messages;
            this.owner = owner;
            this.leaseEnd = leaseEnd;
        }

        @Override
        public List<OutboxMessage> messages() {
            return messages;
        }

        @Override
        public Recorded record(List<UUID> delivered, List<Failure> failures, boolean reportLater) {
            Marked marked = delivered.isEmpty() ? Marked.NONE : withConnection("mark " + delivered.size()
                    + " message(s) published", connection -> markPublished(connection, OWN_TRANSACTION, delivered,
                    reportLater));
            List<UUID> dead = failures.isEmpty() ? List.of() : withConnection("record " + failures.size()
                    + " failed deliveries", connection -> markFailed(connection, OWN_TRANSACTION, failures, owner,
                    leaseEnd));
            return new Recorded(marked.ids(), dead, marked.laterPending());
        }

        @Override
        public void giveBack(List<UUID> ids) {
            if (ids.isEmpty()) {
                return;
            }
            withConnection("give " + ids.size() + " claimed message(s) back", connection -> {
                try (PreparedStatement release = prepared(connection, giveBack)) {
                    release.setArray(1, connection.createArrayOf("uuid", ids.toArray()));
                    release.setLong(2, leaseEnd);
                    release.setString(3, owner);
                    return release.execute();
                }
            });
        }

        @Override
        public void close() {
        }
    }

    /** Locked messages: the outcome commits in the claim's own transaction. */
    private final class LockedClaim implements Claim {
        private final Handle handle;
        private final List<OutboxMessage> messages;

        LockedClaim(Handle handle, List<OutboxMessage> messages) {
            this.handle = handle;
            this.messages = messages;
        }

        @Override
        public List<OutboxMessage> messages() {
            return messages;
        }

        @Override
        public Recorded record(List<UUID> delivered, List<Failure> failures, boolean reportLater) {
            Connection connection = handle.getConnection();
            try {
                Marked marked = delivered.isEmpty() ? Marked.NONE
                        : markPublished(connection, LOCKED_TRANSACTION, delivered, reportLater);
                List<UUID> dead = failures.isEmpty() ? List.of()
                        : markFailed(connection, LOCKED_TRANSACTION, failures, null, 0);
                connection.commit();
                return new Recorded(marked.ids(), dead, marked.laterPending());
            } catch (SQLException | RuntimeException e) {
                throw new OutboxException("could not record the outcome of " + messages.size() + " locked message(s) "
                        + "(they are claimable again): " + reason(e), e);
            }
        }

        @Override
        public void giveBack(List<UUID> ids) {
            // Nothing to take back: the attempt is counted only when recorded, and the commit or
            // rollback that ends this transaction releases the messages.
        }

        @Override
        public void close() {
            handle.close(); // rolls back what record did not commit (a broken connection: the server did)
        }
    }

    /** The messages a mark recorded published, and whether it found a later one of their aggregates pending. */
    private record Marked(List<UUID> ids, boolean laterPending) {
        static final Marked NONE = new Marked(List.of(), false);
    }

    /**
     * Marks {@code ids} delivered, those still claimed (see {@link OutboxSql#markPublished}), after
     * {@code leading} statements that set the transaction up; with {@code reportLater}, also finds
     * whether a later message of one of their aggregates is not yet published (else false).
     */
    private Marked markPublished(Connection connection, int leading, List<UUID> ids, boolean reportLater)
            throws SQLException {
        try (PreparedStatement mark = prepared(connection, reportLater ? markPublishedReportingLater : markPublished)) {
            mark.setArray(1, connection.createArrayOf("uuid", ids.toArray()));
            try (ResultSet rs = rowsAfter(mark, leading)) {
                if (!reportLater) {
                    List<UUID> marked = new ArrayList<>(ids.size());
                    while (rs.next()) {
                        marked.add(rs.getObject(1, UUID.class));
                    }
                    return new Marked(marked, false);
                }
                if (!rs.next()) {
                    return Marked.NONE;
                }
                Array array = rs.getArray("marked");
                List<UUID> marked = array == null ? List.of() : List.of((UUID[]) array.getArray());
                return new Marked(marked, rs.getBoolean("later_pending"));
            }
        }
    }

    /**
     * Records failures, after {@code leading} statements that set the transaction up; {@code owner}
     * null means the messages are locked by this connection's transaction, else they are leased to
     * it by the claim whose lease ends at {@code leaseEnd}.
     */
    private List<UUID> markFailed(Connection connection, int leading, List<Failure> failures, String owner,
                                  long leaseEnd) throws SQLException {
        try (PreparedStatement mark = prepared(connection, markFailed)) {
            mark.setInt(1, settings.maxAttempts());
            mark.setArray(2, connection.createArrayOf("uuid", failures.stream().map(f -> f.message().id()).toArray()));
            mark.setArray(3, connection.createArrayOf("text", failures.stream()
                    .map(utf8Server(connection) ? Failure::error : Failure::asciiError).toArray()));
            mark.setArray(4, connection.createArrayOf("int8", failures.stream().map(f -> f.delay().toMillis()).toArray()));
            setTraces(connection, mark, failures);
            if (owner != null) {
                mark.setLong(7, leaseEnd);
                mark.setString(8, owner);
            }
            List<UUID> dead = new ArrayList<>();
            try (ResultSet rs = rowsAfter(mark, leading)) {
                while (rs.next()) {
                    if ("DEAD".equals(rs.getString(2))) {
                        dead.add(rs.getObject(1, UUID.class));
                    }
                }
            }
            return dead;
        }
    }

    /**
     * Binds the trace contexts to record, parameters 5 and 6 of {@link OutboxSql#markFailed}: each
     * failure's traceparent and tracestate, null for none. (Arrays even when all are null: a
     * parameter's type that changed between executions would make the driver prepare the
     * statement anew.)
     */
    private static void setTraces(Connection connection, PreparedStatement mark, List<Failure> failures)
            throws SQLException {
        mark.setArray(5, connection.createArrayOf("text", failures.stream()
                .map(f -> f.trace().get(TransportHeaders.TRACEPARENT)).toArray()));
        mark.setArray(6, connection.createArrayOf("text", failures.stream()
                .map(f -> f.trace().get(TransportHeaders.TRACESTATE)).toArray()));
    }

    /** Whether the server stores text as UTF8 (as the driver reported at connect; assumed when it cannot be asked). */
    private static boolean utf8Server(Connection connection) throws SQLException {
        return !connection.isWrapperFor(PGConnection.class)
                || "UTF8".equals(connection.unwrap(PGConnection.class).getParameterStatus("server_encoding"));
    }

    /**
     * Runs {@code work}, a transaction sent whole ({@link OutboxSql#ownTransaction}), on a pooled
     * connection of {@link OwnConnections#readCommitted}; wraps SQL errors with what was attempted.
     */
    <T> T withConnection(String attempted, SqlWork<T> work) {
        try (Handle handle = OwnConnections.readCommitted(jdbi)) {
            return work.run(handle.getConnection());
        } catch (SQLException e) {
            throw new OutboxException("could not " + attempted + ": " + reason(e), e);
        } catch (OutboxException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new OutboxException("could not " + attempted + ": " + e.getMessage(), e);
        }
    }

    /** The exception's message; for a statement cancelled by the timeout, also which limit that was. */
    private String reason(Exception e) {
        boolean timedOut = e instanceof SQLException sql && QUERY_CANCELED.equals(sql.getSQLState())
                && String.valueOf(e.getMessage()).contains("statement timeout");
        return !timedOut ? e.getMessage() : e.getMessage() + " (it ran longer than the poller's statementTimeout of "
                + settings.statementTimeout().toMillis() + " ms)";
    }

    /** JDBC work that may throw {@link SQLException}. */
    @FunctionalInterface
    interface SqlWork<T> {
        T run(Connection connection) throws SQLException;
    }
}
