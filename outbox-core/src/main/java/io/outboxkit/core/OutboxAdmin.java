package io.outboxkit.core;

import io.outboxkit.core.spi.Causes;
import io.outboxkit.core.internal.MessageRows;
import io.outboxkit.core.internal.OutboxSql;
import io.outboxkit.core.internal.OwnConnections;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.Query;
import org.jdbi.v3.core.statement.SqlStatements;
import org.jdbi.v3.core.statement.Update;

/**
 * What an operator does with the outbox: look at messages, and put them back for redelivery.
 *
 * <p>A requeued message is PENDING again with its attempts reset, due at once, and pollers are
 * woken. It keeps its id, so a consumer that already processed it skips it as a duplicate; it
 * keeps its place in its aggregate's order. It gets the header {@value #REQUEUED_AT_HEADER}, which
 * tells the replay from a retry of the earlier delivery. Thread-safe.
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
     * delivers it. Meanwhile the requeue holds the rows it has already rewritten, which other
     * pollers' outcomes may wait for; past it the requeue fails whole, having changed nothing.
     */
    public static final Duration REQUEUE_LOCK_WAIT = Duration.ofSeconds(5);

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
    private final String requeue;
    private final AdminQueries views;

    private OutboxAdmin(Jdbi jdbi, OutboxNames names) {
        this.jdbi = jdbi;
        this.names = names;
        this.sql = new OutboxSql(names);
        this.views = new AdminQueries(sql);
        // Headers stored as something other than an object (by SQL, or an old release) are delivered as none:
        // merged with them the mark would make an array, read as no headers, and the mark would be lost.
        this.requeue = """
                UPDATE %s SET status = 'PENDING', attempts = 0, available_at = now(),
                              locked_by = NULL, locked_until = NULL, published_at = NULL,
                              headers = CASE WHEN jsonb_typeof(headers) = 'object' THEN headers ELSE '{}'::jsonb END
                                        || jsonb_build_object('%s',
                                  to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                WHERE\s""".formatted(sql.outbox(), REQUEUED_AT_HEADER);
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
     * Requeues one message, whatever its status.
     *
     * @return whether the outbox had it
     */
    public boolean requeue(UUID id) {
        Objects.requireNonNull(id, "id");
        return requeueWhere("id = :id", "message " + id, q -> q.bind("id", id)) == 1;
    }

    /** Requeues every DEAD message; returns how many. */
    public int requeueDead() {
        return requeueWhere("status = 'DEAD'", "dead messages", q -> q);
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
     */
    public int requeueSince(Instant since) {
        Objects.requireNonNull(since, "since");
        if (since.isAfter(LATEST_TIMESTAMP)) {
            return 0;
        }
        OffsetDateTime bound = OffsetDateTime.ofInstant(since.isBefore(EARLIEST_TIMESTAMP) ? EARLIEST_TIMESTAMP : since,
                ZoneOffset.UTC);
        return requeueWhere("created_at >= :since", "messages since " + since, q -> q.bind("since", bound));
    }

    /**
     * Requeues, in one statement, the messages {@code condition} selects: all of them or, when one
     * is held by a delivery longer than {@link #REQUEUE_LOCK_WAIT}, none.
     */
    private int requeueWhere(String condition, String what,
                             UnaryOperator<Update> binder) {
        try {
            return inTransaction("requeue " + what, tx -> {
                if (!OwnConnections.isCallersTransaction(tx)) { // there, the caller's lock_timeout stands
                    tx.createQuery("SELECT set_config('lock_timeout', :wait, true)")
                            .bind("wait", REQUEUE_LOCK_WAIT.toMillis() + "ms").mapTo(String.class).one();
                }
                int count = binder.apply(tx.createUpdate(requeue + condition)).execute();
                if (count > 0) {
                    tx.execute(sql.notify, names.channel());
                }
                return count;
            });
        } catch (OutboxException e) {
            if (Causes.find(e, SQLException.class).map(s -> LOCK_NOT_AVAILABLE.equals(s.getSQLState()))
                    .orElse(false)) {
                throw new OutboxException("could not requeue " + what + ": another transaction held one of them longer "
                        + "than " + REQUEUE_LOCK_WAIT.toSeconds() + " s (a poller in claim mode LOCK delivering it, "
                        + "or a long statement on the outbox); nothing was requeued, try again", e);
            }
            throw e;
        }
    }

    private <T> T run(String attempted, HandleCallback<T, RuntimeException> work) {
        return translated(attempted, () -> jdbi.withHandle(work));
    }

    /**
     * Runs {@code work} in a transaction of its own at READ COMMITTED, committed whatever the pool's
     * auto-commit setting (see {@link OwnConnections}).
     */
    private <T> T inTransaction(String attempted, HandleCallback<T, RuntimeException> work) {
        return translated(attempted, () -> OwnConnections.inReadCommittedTransaction(jdbi, work));
    }

    private static <T> T translated(String attempted, Supplier<T> work) {
        try {
            return work.get();
        } catch (JdbiException e) {
            throw new OutboxException("could not " + attempted + ": " + Causes.rootMessage(e), e);
        }
    }
}
