package io.outboxkit.core;

import io.outboxkit.core.spi.Causes;
import io.outboxkit.core.internal.MessageRows;
import io.outboxkit.core.internal.OutboxSql;
import io.outboxkit.core.internal.OwnConnections;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.Query;
import org.jdbi.v3.core.statement.SqlStatements;
import org.jdbi.v3.core.statement.StatementContext;
import org.jdbi.v3.core.statement.StatementCustomizer;

/**
 * What an operator does with the outbox: look at messages, and put them back for redelivery.
 *
 * <p>A requeued message is PENDING again with its attempts reset, due at once, and pollers are
 * woken. It keeps its id, so a consumer that already processed it skips it as a duplicate; it
 * keeps its place in its aggregate's order. It gets the header {@value #REQUEUED_AT_HEADER}, which
 * tells the replay from a retry of the earlier delivery. A requeue of many messages runs in
 * batches, each committed on its own (see {@link #requeueDead}). Thread-safe.
 */
public final class OutboxAdmin {

    /** The most entries one {@code list} call returns (a later call continues where it stopped). */
    public static final int MAX_LIST = 10_000;
    /**
     * The most rows one {@link #page} call examines: a filter that no index covers costs at most
     * this many rows, and a page that meets fewer matches says where to continue.
     */
    public static final int MAX_EXAMINED = 10_000;
    /**
     * How many messages one statement of {@link #list(MessageStatus, long, int, boolean, Consumer)}
     * reads with their payloads: a page of payloads of a megabyte each is held at once.
     */
    public static final int LIST_PAGE_WITH_PAYLOADS = 8;
    /** The most lease holders {@link #leaseHolders} returns. */
    public static final int MAX_LEASE_HOLDERS = 100;
    /**
     * How long one statement of {@link #page} or {@link #leaseHolders}
     * may run before PostgreSQL cancels it (and the call fails with an {@link OutboxException}).
     */
    public static final Duration VIEW_STATEMENT_TIMEOUT = Duration.ofSeconds(5);
    /**
     * How long a requeue waits for a message a poller in {@link ClaimMode#LOCK} holds while it
     * delivers it. Meanwhile the requeue's batch holds the rows it has already rewritten, which other
     * pollers' outcomes may wait for; past it the batch fails, having changed nothing, and so does
     * the requeue (its earlier batches stay committed).
     */
    public static final Duration REQUEUE_LOCK_WAIT = Duration.ofSeconds(5);
    /**
     * The most messages one batch of a requeue rewrites (and rows it examines), in one transaction
     * of its own: small enough that its locks are held for well under a second.
     */
    public static final int REQUEUE_BATCH = 2_000;
    /**
     * How long one batch's statement of a requeue may run before PostgreSQL cancels it: below the
     * 20 s outboxkit's services and replay-cli let a statement run (their connections wait 30 s for
     * an answer), so the server, not the client, ends a batch that runs too long, and nothing of it
     * keeps running after the call failed.
     */
    public static final Duration REQUEUE_STATEMENT_TIMEOUT = Duration.ofSeconds(10);
    /**
     * How long a batch of a requeue in a transaction of its own may sit idle between its statements
     * before PostgreSQL ends its session, rolling the batch back
     * ({@code idle_in_transaction_session_timeout}, local to the batch's transaction). Between them
     * the batch only waits for its client's next statement, a round trip; a client cut off from the
     * database mid-batch (a VPN that drops, its host lost) never sends it and never closes its
     * connection, and without this bound its session would hold the batch's rows locked until TCP
     * keepalive gave up on it, two hours by default, while the relays skip them.
     */
    public static final Duration REQUEUE_IDLE_TIMEOUT = Duration.ofSeconds(5);
    /** How many times a requeue runs a batch again that PostgreSQL aborted to break a deadlock. */
    public static final int REQUEUE_DEADLOCK_RETRIES = 2;

    /**
     * The header a requeue sets on each message it requeues (replacing an earlier requeue's): the
     * database's time of the requeue, ISO-8601 in UTC with microseconds
     * ({@code 2026-12-07T09:33:19.123456Z}). Carried to the consumer like the message's other
     * headers. A broker that drops a message whose id it stored a short while ago (NATS, by
     * {@code Nats-Msg-Id}) would drop the replay as a copy of the first delivery, so its publisher
     * deduplicates on the id and this value; every publish of one requeue carries the same value,
     * so a relay's retry of it is still dropped.
     */
    public static final String REQUEUED_AT_HEADER = "outboxkit_requeued_at";

    /** PostgreSQL's SQLSTATE for a lock not obtained within lock_timeout. */
    private static final String LOCK_NOT_AVAILABLE = "55P03";
    /** PostgreSQL's SQLSTATE for a transaction it aborted to break a deadlock. */
    private static final String DEADLOCK_DETECTED = "40P01";
    /** PostgreSQL's SQLSTATE for a statement cancelled (at its statement_timeout, or by a cancel request). */
    private static final String QUERY_CANCELED = "57014";
    private static final Duration CANCEL_RETRY = Duration.ofMillis(50);

    /** PostgreSQL's timestamps run from 4713 BC to 294276 AD; a message is never written outside these. */
    private static final Instant EARLIEST_TIMESTAMP = Instant.parse("0001-01-01T00:00:00Z");
    private static final Instant LATEST_TIMESTAMP = Instant.parse("+294276-01-01T00:00:00Z");

    private static final RowMapper<OutboxEntry> ENTRY = (rs, ctx) -> new OutboxEntry(
            MessageRows.message(rs),
            MessageStatus.valueOf(rs.getString("status")),
            rs.getString("last_error"),
            MessageRows.instant(rs, "available_at"),
            MessageRows.instant(rs, "published_at"),
            rs.getString("locked_by"),
            MessageRows.instant(rs, "locked_until"));

    private final Jdbi jdbi;
    private final OutboxNames names;
    private final OutboxSql sql;
    private final String requeueBatch;
    private final AdminQueries views;
    private final Set<RequeueRun> running = ConcurrentHashMap.newKeySet();
    /** Set by {@link #cancelRequeues}: a requeue that begins after it is refused. */
    private volatile boolean requeuesCancelled;

    private OutboxAdmin(Jdbi jdbi, OutboxNames names) {
        this.jdbi = jdbi;
        this.names = names;
        this.sql = new OutboxSql(names);
        this.views = new AdminQueries(sql);
        // A batch reads the next candidates in write order without locks (from the index the first
        // placeholder picks); those that still meet the condition (the second) once locked, in
        // write order, are rewritten. Headers stored as something other than an object (by SQL, or an
        // old release) are delivered as none: merged with them the mark would make an array, read as no
        // headers, and the mark would be lost.
        this.requeueBatch = """
                WITH examined AS (
                    SELECT o.seq FROM %1$s o WHERE %%1$s AND o.seq > :after AND o.seq <= :last ORDER BY o.seq LIMIT :batch
                ), locked AS (
                    SELECT o.seq FROM %1$s o WHERE o.seq IN (SELECT seq FROM examined) AND %%2$s ORDER BY o.seq FOR UPDATE
                ), requeued AS (
                    UPDATE %1$s o SET status = 'PENDING', attempts = 0, available_at = now(),
                                      locked_by = NULL, locked_until = NULL, published_at = NULL,
                                      headers = CASE WHEN jsonb_typeof(o.headers) = 'object' THEN o.headers ELSE '{}'::jsonb END
                                                || jsonb_build_object('%2$s',
                                          to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                    FROM locked WHERE o.seq = locked.seq
                    RETURNING o.seq
                )
                SELECT (SELECT count(*) FROM examined) AS examined, (SELECT coalesce(max(seq), 0) FROM examined) AS edge,
                       (SELECT count(*) FROM requeued) AS requeued""".formatted(sql.outbox(), REQUEUED_AT_HEADER);
    }

    /** Operations on the outbox of {@link OutboxNames#DEFAULT} in {@code jdbi}'s database. */
    public static OutboxAdmin create(Jdbi jdbi) {
        return create(jdbi, OutboxNames.DEFAULT);
    }

    /** Operations on the outbox that {@code names} name, in {@code jdbi}'s database. */
    public static OutboxAdmin create(Jdbi jdbi, OutboxNames names) {
        return new OutboxAdmin(Objects.requireNonNull(jdbi, "jdbi"), Objects.requireNonNull(names, "names"));
    }

    /**
     * The first {@code limit} messages in {@code status}, oldest first, payloads included (all held
     * in memory at once: for more, or for large payloads, see
     * {@link #list(MessageStatus, long, int, boolean, Consumer)}).
     *
     * @throws IllegalArgumentException when limit is not 1 to {@value #MAX_LIST}
     * @throws OutboxException          when the database fails
     */
    public List<OutboxEntry> list(MessageStatus status, int limit) {
        List<OutboxEntry> entries = new ArrayList<>();
        list(status, 0, limit, true, entries::add);
        return entries;
    }

    /**
     * Hands {@code each} the first {@code limit} messages in {@code status} whose sequence is
     * greater than {@code after} (0: from the first), oldest first, and says where the rest begin:
     * passing that back as {@code after} continues the listing, beyond {@value #MAX_LIST} too.
     *
     * <p>Memory stays bounded whatever the limit: with {@code payloads}, the messages are read
     * {@value #LIST_PAGE_WITH_PAYLOADS} at a time, each page in a statement of its own, so no
     * transaction stays open while {@code each} runs (a page starts after the last sequence handed
     * on, so no message comes twice). Without {@code payloads} none is read (each entry's payload is
     * empty text): for a view that does not show them, whose cost then does not grow with their size.
     *
     * <p>Neither the pages nor a listing continued with {@code after} are a snapshot: a message that
     * enters {@code status} meanwhile with a sequence below where the listing has got to (a
     * PENDING message that turns DEAD, say) is not handed on by a later page or a later call; one
     * that leaves it before its page is read is not handed on either.
     *
     * @return the sequence to pass as {@code after} for the messages past the limit; empty when
     *         there were none when it looked
     * @throws IllegalArgumentException when limit is not 1 to {@value #MAX_LIST}, or after is negative
     * @throws OutboxException          when the database fails ({@code each} may have had some entries)
     */
    public OptionalLong list(MessageStatus status, long after, int limit, boolean payloads,
                             Consumer<? super OutboxEntry> each) {
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(each, "each");
        if (limit < 1 || limit > MAX_LIST) {
            throw new IllegalArgumentException("limit must be 1 to " + MAX_LIST + ", was " + limit);
        }
        if (after < 0) {
            throw new IllegalArgumentException("after must be a sequence, 0 or more, was " + after);
        }
        String page = "SELECT " + (payloads ? sql.entryColumns : sql.entryColumnsWithoutPayload) + " FROM "
                + sql.outbox() + " o WHERE o.status = :status AND o.seq > :after ORDER BY o.seq LIMIT :limit";
        long last = after;
        int left = limit;
        while (left > 0) {
            int size = payloads ? Math.min(left, LIST_PAGE_WITH_PAYLOADS) : left;
            long from = last;
            List<OutboxEntry> entries = run("list " + status + " messages", h -> h.createQuery(page)
                    .bind("status", status.name())
                    .bind("after", from)
                    .bind("limit", size)
                    .map(ENTRY)
                    .list());
            for (OutboxEntry entry : entries) {
                each.accept(entry);
                last = entry.message().sequence();
            }
            if (entries.size() < size) {
                return OptionalLong.empty();
            }
            left -= size;
        }
        long end = last;
        boolean more = run("list " + status + " messages", h -> h.createQuery("SELECT EXISTS (SELECT 1 FROM "
                        + sql.outbox() + " o WHERE o.status = :status AND o.seq > :after)")
                .bind("status", status.name())
                .bind("after", end)
                .mapTo(Boolean.class)
                .one());
        return more ? OptionalLong.of(end) : OptionalLong.empty();
    }

    /**
     * The outbox's rows by status, counted now in one statement (it reads every row's status: for
     * a dashboard polled every few seconds, not for every request).
     *
     * @throws OutboxException when the database fails
     */
    public OutboxCounts counts() {
        return run("count messages by status", h -> h.createQuery("""
                        SELECT count(*) FILTER (WHERE status = 'PENDING') AS pending,
                               count(*) FILTER (WHERE status = 'PUBLISHED') AS published,
                               count(*) FILTER (WHERE status = 'DEAD') AS dead
                        FROM %s""".formatted(sql.outbox()))
                .map((rs, ctx) -> new OutboxCounts(rs.getLong("pending"), rs.getLong("published"), rs.getLong("dead")))
                .one());
    }

    /**
     * One page of the messages {@code query} selects, in its order; the next page is
     * {@code query.after(page.next())}. Paged by keyset on the write order, so a later page costs
     * what the first does.
     *
     * <p>Bounded: it reads the index that serves the query's status (pending: the pending index;
     * pending or dead of one aggregate: that aggregate's range; dead: the messages not yet delivered;
     * otherwise the write order) and examines at most {@value #MAX_EXAMINED} of its rows, then
     * filters them by the other conditions. A page can therefore hold fewer entries than the limit
     * while {@link MessagePage#next()} still offers more. Its statements run under
     * {@link #VIEW_STATEMENT_TIMEOUT}.
     *
     * @throws NullPointerException when query is null
     * @throws OutboxException      when the database fails
     */
    public MessagePage page(MessageQuery query) {
        Objects.requireNonNull(query, "query");
        return bounded("list messages", h -> {
            List<OutboxEntry> found = bind(h.createQuery(views.page(query)), query)
                    .bind("limit", query.limit() + 1)
                    .map(ENTRY)
                    .list();
            if (found.size() > query.limit()) {
                List<OutboxEntry> entries = found.subList(0, query.limit());
                long last = entries.get(entries.size() - 1).message().sequence();
                return new MessagePage(entries, OptionalLong.of(last), MAX_EXAMINED);
            }
            // A short page: whether it is the end depends on whether the candidates ran out.
            return bind(h.createQuery(views.examined(query)), query)
                    .map((rs, ctx) -> {
                        int examined = rs.getInt("examined");
                        OptionalLong next = examined < MAX_EXAMINED ? OptionalLong.empty()
                                : OptionalLong.of(rs.getLong("edge"));
                        return new MessagePage(found, next, examined);
                    })
                    .one();
        });
    }

    /**
     * The pollers that hold leases now, by name, each with how many messages and when its last
     * lease ends; at most {@value #MAX_LEASE_HOLDERS}. It reads the pending index (leases are only
     * on pending messages), so it costs what the backlog holds, never the delivered history; under
     * {@link #VIEW_STATEMENT_TIMEOUT}. Pollers in {@link ClaimMode#LOCK} hold row locks, not
     * leases, and do not appear.
     *
     * @throws OutboxException when the database fails
     */
    public List<LeaseHolder> leaseHolders() {
        return bounded("list lease holders", h -> h.createQuery(views.leaseHolders)
                .bind("limit", MAX_LEASE_HOLDERS)
                .map((rs, ctx) -> new LeaseHolder(rs.getString("locked_by"), rs.getLong("messages"),
                        MessageRows.instant(rs, "lease_end")))
                .list());
    }

    /** Binds every parameter {@code query} may use; the statement uses those its conditions need. */
    static Query bind(Query statement, MessageQuery query) {
        statement.configure(SqlStatements.class, c -> c.setUnusedBindingAllowed(true))
                .bind("examine", MAX_EXAMINED)
                .bind("status", query.status() == null ? null : query.status().name())
                .bind("aggregate_type", query.aggregateType())
                .bind("aggregate_id", query.aggregateId())
                .bind("event_type", query.eventType());
        if (query.after() != null) {
            statement.bind("after", query.after().longValue());
        }
        return statement;
    }

    /** Runs {@code work} in a transaction whose statements are bounded ({@link AdminQueries#BOUNDED}). */
    private <T> T bounded(String attempted, HandleCallback<T, RuntimeException> work) {
        // A view reads only: in the caller's transaction its bounds are undone after it.
        return translated(attempted, () -> OwnConnections.inReadingTransaction(jdbi, tx -> {
            tx.createQuery(AdminQueries.BOUNDED)
                    .bind(0, VIEW_STATEMENT_TIMEOUT.toMillis() + "ms")
                    .mapToMap().one();
            return work.withHandle(tx);
        }));
    }

    /** The message with {@code id}, if the outbox has it. */
    public Optional<OutboxEntry> find(UUID id) {
        Objects.requireNonNull(id, "id");
        return run("find message " + id, h -> h.createQuery(
                        "SELECT " + sql.entryColumns + " FROM " + sql.outbox() + " o WHERE o.id = :id")
                .bind("id", id)
                .map(ENTRY)
                .findOne());
    }

    /**
     * Requeues one message, whatever its status (see {@link #requeueDead} for how it locks and fails).
     *
     * @return whether the outbox had it
     * @throws RequeueException when it could not (nothing was requeued)
     */
    public boolean requeue(UUID id) {
        Objects.requireNonNull(id, "id");
        return requeueWhere("o.id = :id", "true", 0, "message " + id, q -> q.bind("id", id)) == 1;
    }

    /**
     * Requeues every DEAD message; returns how many. In batches of at most {@value #REQUEUE_BATCH}
     * messages in write order, each its own transaction, committed (and pollers woken) before the
     * next begins: a batch locks its rows in write order (as the poller's claims and records do, so
     * that it seldom deadlocks with them), holds them only while it runs, and its statement runs at
     * most {@link #REQUEUE_STATEMENT_TIMEOUT}; cut off from the database mid-batch, its session is
     * ended by the server once idle for {@link #REQUEUE_IDLE_TIMEOUT}, releasing them. It walks the messages written before it began, each
     * at most once: one DEAD when its batch reads it is requeued; one written after it began waits
     * for the next requeue.
     *
     * <p>Over a {@link Jdbi} bound to the application's transaction, called inside one, the batches
     * join that transaction and commit with it, and its lock and statement timeouts stand. There a
     * failed batch (a deadlock, a lock or statement timeout, a cancel) is not run again: the batches
     * before it are in the caller's transaction (which a failed statement has aborted), so the
     * {@link RequeueException} reports none requeued, and the caller must roll its transaction back.
     *
     * @throws RequeueException when a batch failed or {@link #cancelRequeues} stopped it: the batches
     *                          before it are committed, as the exception says; calling again
     *                          requeues the messages still DEAD
     */
    public int requeueDead() {
        return requeueWhere("o.status = 'DEAD'", "o.status = 'DEAD'", 0, "dead messages", q -> q);
    }

    /**
     * The database's current time, {@code now()}: the clock that stamps a message's
     * {@code created_at}. A {@link #requeueSince} time given as a span ago ("the last 15 minutes")
     * is counted back from it, not from this machine's clock, which may be minutes off the
     * database server's.
     *
     * @throws OutboxException when the database fails
     */
    public Instant databaseTime() {
        return run("read the database's time", h -> h.createQuery("SELECT now()").mapTo(OffsetDateTime.class).one())
                .toInstant();
    }

    /**
     * Requeues every message written at or after {@code since}, whatever its status; returns how
     * many. A message's time is its {@code created_at}, on the database's clock (see
     * {@link #databaseTime}): when the transaction that wrote it began,
     * so one whose transaction began before {@code since} and wrote it after is left out; to replay
     * what a consumer restored to a point in time has not seen, give a {@code since} earlier by the
     * longest a writing transaction runs (a duplicate is skipped by an idempotent consumer). Any
     * instant is taken as it is: one before the year 1 requeues every message, one beyond
     * PostgreSQL's timestamps (the year 294,276) requeues none.
     *
     * <p>It walks the outbox in write order, {@value #REQUEUE_BATCH} rows a batch, as
     * {@link #requeueDead} does, up to the last message written when it began: each message at
     * most once, none written after it began.
     *
     * @throws RequeueException when a batch failed or {@link #cancelRequeues} stopped it: the batches
     *                          before it are committed; {@link #requeueSince(Instant, long)} with
     *                          its {@link RequeueException#resumeAfter()} requeues the rest, where
     *                          calling this again would requeue those again too
     */
    public int requeueSince(Instant since) {
        return requeueSince(since, 0);
    }

    /**
     * As {@link #requeueSince(Instant)}, only the messages after write position {@code after} (their
     * {@link OutboxMessage#sequence()}): resumes a requeue that stopped, from its
     * {@link RequeueException#resumeAfter()}. It walks up to the last message written when it
     * begins, not when the stopped requeue began: it also requeues the messages written since
     * {@code since} after the first run began.
     *
     * @throws IllegalArgumentException when after is negative
     * @throws RequeueException         as {@link #requeueSince(Instant)}
     */
    public int requeueSince(Instant since, long after) {
        Objects.requireNonNull(since, "since");
        if (after < 0) {
            throw new IllegalArgumentException("after must be a write position (0 or more), was " + after);
        }
        if (since.isAfter(LATEST_TIMESTAMP)) {
            return 0;
        }
        OffsetDateTime bound = OffsetDateTime.ofInstant(since.isBefore(EARLIEST_TIMESTAMP) ? EARLIEST_TIMESTAMP : since,
                ZoneOffset.UTC);
        return requeueWhere("true", "o.created_at >= :since", after, "messages since " + since,
                q -> q.bind("since", bound));
    }

    /**
     * Stops the requeues of this admin that are running now, in any thread: none begins another
     * batch, and the statement of the batch running is cancelled, so it is rolled back and nothing
     * of it keeps running on the server; each then throws a {@link RequeueException} that says what
     * its committed batches requeued. For a process that is stopping (a command-line tool's
     * Ctrl-C). Returns whether they all ended within {@code wait}, which it keeps to even when the
     * database is silent (a network partition), where a cancel cannot reach the server: a batch
     * still running after half the wait has its connection closed on this side, so its requeue
     * throws at once instead of waiting for an answer that does not come. Such a batch cannot
     * commit (its COMMIT is never sent); the server rolls it back at its
     * {@link #REQUEUE_STATEMENT_TIMEOUT}, or once idle for {@link #REQUEUE_IDLE_TIMEOUT}. The
     * driver makes the batch's statement wait for a cancel in progress, which on a silent database
     * lasts pgjdbc's {@code cancelSignalTimeout} (10 s by default): for a requeue to end within a
     * wait of a few seconds, give the connections a shorter one (replay-cli's is 2 s). A batch in
     * the caller's transaction (see {@link #requeueDead}) is only cancelled: its connection is the
     * caller's. So is the requeue's first read (where the outbox ends), before it knows whose
     * transaction it runs in.
     *
     * <p>Not covered, so that a requeue there ends only when the database answers (the method
     * still returns after {@code wait}, {@code false}): taking a connection, beginning a batch's
     * transaction (BEGIN and its settings) and its COMMIT. A COMMIT is never interrupted on
     * purpose: closing the connection then would leave unknown whether the batch committed, and the
     * count the requeue reports with it.
     *
     * <p>Closing a batch's connection closes whatever connection the admin's {@link Jdbi} handed
     * out: with a Jdbi over one connection ({@code Jdbi.create(Connection)}) and auto-commit on,
     * batches run in transactions of their own on that connection, and a batch still running after
     * half the wait closes it, the application's only one. Give an admin that may be cancelled a
     * Jdbi over a pool, or use it only in the caller's transaction (auto-commit off).
     *
     * <p>It closes this admin for requeues: a {@link #requeueDead} or {@link #requeueSince} that
     * begins afterwards, or was beginning meanwhile, runs no batch and throws a
     * {@link RequeueException} that says it was cancelled and nothing was requeued. (A stop that
     * comes while a requeue is about to begin stops it all the same.)
     */
    public boolean cancelRequeues(Duration wait) {
        Objects.requireNonNull(wait, "wait");
        long start = System.nanoTime();
        long deadline = start + wait.toNanos();
        long abortAt = start + wait.toNanos() / 2;
        requeuesCancelled = true;
        running.forEach(RequeueRun::cancel);
        while (!running.isEmpty() && deadline - System.nanoTime() > 0) {
            LockSupport.parkNanos(CANCEL_RETRY.toNanos());
            if (System.nanoTime() - abortAt >= 0) {
                running.forEach(RequeueRun::abort);
            } else {
                // A cancel that reaches the server before the statement does is lost: cancel until they end.
                running.forEach(RequeueRun::cancel);
            }
        }
        return running.isEmpty();
    }

    /**
     * Requeues, batch by batch in write order, the rows after {@code after} that {@code candidates}
     * (which picks the index to walk) and {@code condition} select, up to the last row written
     * when it begins; see {@link #requeueDead}.
     */
    private int requeueWhere(String candidates, String condition, long after, String what,
                             UnaryOperator<Query> binder) {
        String whatWhere = what + " in " + sql.outbox();
        RequeueRun run = new RequeueRun();
        running.add(run);
        try {
            // After registering: a cancel either finds this run or has closed the admin before this check.
            if (requeuesCancelled) {
                throw new RequeueException("could not requeue " + whatWhere + ": cancelled before it began; nothing "
                        + "was requeued", 0, after, null);
            }
            long last;
            try {
                // Cancelled like a batch's statement (a lock on the outbox can hold it), never closed:
                // the connection may be the caller's.
                last = run("requeue " + whatWhere, h -> h.createQuery("SELECT coalesce(max(seq), 0) FROM " + sql.outbox())
                        .addCustomizer(run).mapTo(Long.class).one());
            } catch (OutboxException | CancelledException e) {
                if (!run.cancelled) {
                    throw e;
                }
                throw new RequeueException("could not requeue " + whatWhere + ": cancelled before its first batch; "
                        + "nothing was requeued", 0, after, e);
            }
            // Only after a statement: before its first, the caller's transaction (auto-commit off, BEGIN not
            // yet sent) looks like a pool's idle connection.
            boolean callers = run("requeue " + whatWhere, OwnConnections::isCallersTransaction);
            String statement = requeueBatch.formatted(candidates, condition);
            int requeued = 0;
            long edge = after;
            while (edge < last) {
                Batch batch = callers ? requeueInCallersTransaction(run, statement, edge, last, binder, whatWhere, after)
                        : requeueBatch(run, statement, edge, last, binder, whatWhere, requeued);
                requeued += batch.requeued();
                edge = batch.examined() < REQUEUE_BATCH ? last : batch.edge();
            }
            return requeued;
        } catch (RequeueException e) {
            throw e;
        } catch (OutboxException e) {
            throw new RequeueException(e.getMessage() + "; nothing was requeued", 0, after, e);
        } finally {
            running.remove(run);
        }
    }

    /** One batch, committed; retried when it deadlocked, at most {@value #REQUEUE_DEADLOCK_RETRIES} times. */
    private Batch requeueBatch(RequeueRun run, String statement, long after, long last, UnaryOperator<Query> binder,
                               String what, int requeued) {
        for (int attempt = 0; ; attempt++) {
            try {
                run.checkNotCancelled();
                return OwnConnections.inReadCommittedTransaction(jdbi, tx -> run.holding(tx.getConnection(), () -> {
                    tx.createQuery("SELECT set_config('lock_timeout', :wait, true) AS wait, "
                                    + "set_config('statement_timeout', :timeout, true) AS timeout, "
                                    + "set_config('idle_in_transaction_session_timeout', :idle, true) AS idle")
                            .bind("wait", REQUEUE_LOCK_WAIT.toMillis() + "ms")
                            .bind("timeout", REQUEUE_STATEMENT_TIMEOUT.toMillis() + "ms")
                            .bind("idle", REQUEUE_IDLE_TIMEOUT.toMillis() + "ms")
                            .mapToMap().one();
                    return batch(tx, run, statement, after, last, binder);
                }));
            } catch (JdbiException | CancelledException e) {
                String state = Causes.find(e, SQLException.class).map(SQLException::getSQLState).orElse("");
                if (DEADLOCK_DETECTED.equals(state) && attempt < REQUEUE_DEADLOCK_RETRIES && !run.cancelled) {
                    continue;
                }
                boolean retryable = !run.cancelled && (LOCK_NOT_AVAILABLE.equals(state) || DEADLOCK_DETECTED.equals(state));
                throw new RequeueException("could not requeue " + what + ": " + reason(run, state, e) + "; "
                        + (requeued == 0 ? "nothing was requeued"
                        : requeued + (requeued == 1 ? " message was" : " messages were") + " requeued before it "
                        + "(every one up to write position " + after + "), the rest were not")
                        + (retryable ? ", try again" : ""), requeued, after, e);
            }
        }
    }

    /**
     * One batch in the caller's transaction, which it joins: after a failure there (a deadlock, a
     * lock or statement timeout, which abort that transaction; a cancel, before or during the batch)
     * the caller must roll the transaction back, the batches before it with it, so it is not
     * retried and nothing counts as requeued.
     */
    private Batch requeueInCallersTransaction(RequeueRun run, String statement, long after, long last,
                                              UnaryOperator<Query> binder, String what, long from) {
        try {
            run.checkNotCancelled();
            return OwnConnections.inReadCommittedTransaction(jdbi, tx -> batch(tx, run, statement, after, last, binder));
        } catch (JdbiException | CancelledException e) {
            String state = Causes.find(e, SQLException.class).map(SQLException::getSQLState).orElse("");
            // There the caller's lock_timeout stood, not REQUEUE_LOCK_WAIT.
            String reason = LOCK_NOT_AVAILABLE.equals(state) && !run.cancelled
                    ? "another transaction held one of them longer than the transaction's lock_timeout" : reason(run, state, e);
            throw new RequeueException("could not requeue " + what + ": " + reason + "; nothing was "
                    + "requeued: the caller's transaction, which the requeue joined, must be rolled back (every batch "
                    + "requeued before it is in it)", 0, from, e);
        }
    }

    /** Runs the batch statement and wakes the pollers when it requeued any. */
    private Batch batch(Handle tx, RequeueRun run, String statement, long after, long last, UnaryOperator<Query> binder) {
        Batch batch = binder.apply(tx.createQuery(statement))
                .bind("after", after).bind("last", last).bind("batch", REQUEUE_BATCH)
                .addCustomizer(run)
                .map((rs, ctx) -> new Batch(rs.getInt("examined"), rs.getLong("edge"), rs.getInt("requeued")))
                .one();
        if (batch.requeued() > 0) {
            tx.execute(sql.notify, names.channel());
        }
        return batch;
    }

    /** Why a batch failed, as a person acts on it. */
    private static String reason(RequeueRun run, String state, Exception e) {
        if (run.cancelled) {
            return "cancelled";
        }
        return switch (state) {
            case LOCK_NOT_AVAILABLE -> "another transaction held one of them longer than "
                    + REQUEUE_LOCK_WAIT.toSeconds() + " s (a poller in claim mode LOCK delivering it, or a long "
                    + "statement on the outbox)";
            case DEADLOCK_DETECTED -> "it deadlocked with another transaction (a poller recording a batch) "
                    + (REQUEUE_DEADLOCK_RETRIES + 1) + " times in a row";
            case QUERY_CANCELED -> "a batch ran longer than " + REQUEUE_STATEMENT_TIMEOUT.toSeconds()
                    + " s (statement_timeout), is the database overloaded?";
            default -> Causes.rootMessage(e);
        };
    }

    /** What one batch did: rows examined, the last one's write position, messages requeued. */
    private record Batch(int examined, long edge, int requeued) {
    }

    /** A batch refused because its requeue was cancelled before it began. */
    private static final class CancelledException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CancelledException() {
            super("cancelled", null, false, false);
        }
    }

    /**
     * One running requeue: whether it was cancelled, the statement it runs now, and the connection
     * of the batch it runs in a transaction of its own.
     */
    private static final class RequeueRun implements StatementCustomizer {
        private volatile boolean cancelled;
        private volatile Statement statement;
        /** One cancel at a time: each may wait for the driver's cancel timeout on a silent database. */
        private final AtomicBoolean cancelling = new AtomicBoolean();
        /** Guarded by this: set only while a batch's own transaction uses it, before it goes back to the pool. */
        private Connection connection;

        @Override
        public void beforeExecution(PreparedStatement stmt, StatementContext ctx) {
            statement = stmt;
            checkNotCancelled();
        }

        @Override
        public void afterExecution(PreparedStatement stmt, StatementContext ctx) {
            statement = null;
        }

        void checkNotCancelled() {
            if (cancelled) {
                throw new CancelledException();
            }
        }

        /**
         * Cancels the statement running, on a thread of its own: the driver sends the cancel on a
         * new connection and waits for the server's answer, up to its cancel timeout (10 s) when
         * the database is silent.
         */
        void cancel() {
            cancelled = true;
            Statement running = statement;
            if (running == null || !cancelling.compareAndSet(false, true)) {
                return;
            }
            Thread canceller = new Thread(() -> {
                try {
                    running.cancel();
                } catch (SQLException e) {
                    // its connection is gone: nothing runs on it
                } finally {
                    cancelling.set(false);
                }
            }, "outboxkit-requeue-cancel");
            canceller.setDaemon(true);
            canceller.start();
        }

        /** Runs {@code batch}, its connection closed by {@link #abort} meanwhile. */
        <T> T holding(Connection used, Supplier<T> batch) {
            synchronized (this) {
                connection = used;
            }
            try {
                return batch.get();
            } finally {
                synchronized (this) {
                    connection = null;
                }
            }
        }

        /**
         * Closes the connection of the batch running in a transaction of its own, so that a read
         * waiting for a silent server fails at once; under the lock, so that it is still the batch's
         * and not a connection given back to the pool.
         */
        synchronized void abort() {
            cancelled = true;
            if (connection == null) {
                return;
            }
            try {
                connection.abort(Runnable::run);
            } catch (SQLException | RuntimeException e) {
                // already closed: nothing waits on it
            }
            connection = null;
        }
    }

    private <T> T run(String attempted, HandleCallback<T, RuntimeException> work) {
        return translated(attempted, () -> {
            try (Handle handle = OwnConnections.open(jdbi)) {
                return work.withHandle(handle);
            }
        });
    }

    private static <T> T translated(String attempted, Supplier<T> work) {
        try {
            return work.get();
        } catch (JdbiException e) {
            throw new OutboxException("could not " + attempted + ": " + Causes.rootMessage(e), e);
        }
    }
}
