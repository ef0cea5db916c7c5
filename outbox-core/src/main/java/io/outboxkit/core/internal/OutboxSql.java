package io.outboxkit.core.internal;

import io.outboxkit.core.OutboxNames;
import java.time.Duration;

/**
 * The SQL outbox-core runs against one outbox's tables ({@link OutboxNames}, written quoted); every
 * value is a bound JDBC parameter, in the order each Javadoc gives. Immutable and thread-safe.
 */
public final class OutboxSql {

    /** The setting that lets a transaction commit without waiting for its WAL flush. */
    private static final String COMMIT_WITHOUT_FLUSH = "set_config('synchronous_commit', 'off', true)";

    /** The setting that plans a prepared statement at each execution, never on a cached generic plan. */
    private static final String PLANNED_EACH_TIME = "set_config('plan_cache_mode', 'force_custom_plan', true)";

    /** The setting that plans a prepared statement once per connection (a generic plan, cached). */
    private static final String PLANNED_ONCE = "set_config('plan_cache_mode', 'force_generic_plan', true)";

    /**
     * Rules out sequential and bitmap scans, leaving the index scans the poller's statements are
     * written for whatever the statistics say: a claim walks the pending index in write order and
     * stops at its batch, where a bitmap scan would read and sort every pending entry (dead ones
     * included) first; a record finds its messages by primary key.
     */
    private static final String INDEX_SCANS_ONLY =
            "set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)";

    /**
     * "Still pending", for a statement that finds its messages by id, written so that it implies
     * neither partial index's predicate: PostgreSQL then cannot scan one of them (which statistics
     * taken while nearly nothing is pending make look cheap) instead of probing the primary key.
     */
    private static final String STILL_PENDING = "coalesce(o.status, '') = 'PENDING'";
    /**
     * Still claimed by some poller: an operator's requeue, and a recorded failure, clear the
     * claim. (Not necessarily this poller's: one whose lease ran out while it delivered records its
     * delivery over the claim that took the message again, so that a delivery slower than the
     * lease is still recorded; that claim's own outcome then finds the message PUBLISHED.)
     */
    private static final String STILL_CLAIMED = " AND o.locked_by IS NOT NULL";
    /**
     * A lease's end in microseconds since the epoch: what tells one claim of a message from
     * another (each reads the clock anew; a requeue resets the attempts, so they can repeat).
     * Compared only with values this same expression gave, so its rounding cannot matter.
     */
    private static final String LEASE_END = "(extract(epoch FROM o.locked_until) * 1000000)::bigint";

    /**
     * True, and the transaction's commit made to wait for its WAL flush when the database or role
     * sets {@code synchronous_commit = off}: the sender forgets a message once its effect has
     * committed, so that commit must survive a crash of PostgreSQL. A stronger setting is kept.
     */
    static final String DURABLE_COMMIT = "CASE WHEN current_setting('synchronous_commit') = 'off' "
            + "THEN set_config('synchronous_commit', 'on', true) IS NOT NULL ELSE true END";

    /**
     * True, and {@code idle_in_transaction_session_timeout} set local to the transaction to the
     * shorter of its parameter (text, as {@code '10000ms'}) and the setting in force, unless that is
     * 0 (none): a stricter server's, database's or role's setting is kept. A null parameter keeps
     * the setting as it stands. (LEAST ignores a null, the setting's 0 made one.)
     */
    static final String IDLE_IN_TRANSACTION_BOUND = "set_config('idle_in_transaction_session_timeout', "
            + "coalesce((extract(epoch FROM least(nullif(current_setting('idle_in_transaction_session_timeout')::interval, "
            + "interval '0'), ?::interval)) * 1000)::bigint || 'ms', "
            + "current_setting('idle_in_transaction_session_timeout')), true) IS NOT NULL";

    private static final String PAYLOAD = "o.payload::text";
    private static final String ENTRY_STATE = ", o.status, o.last_error, o.available_at, o.published_at, o.locked_by, o.locked_until";

    private final String outbox;
    private final String processed;
    private final String columns;

    /** Parameters: id, aggregate type, aggregate id, event type, payload, headers (JSON text). */
    public final String insert;
    /**
     * Parameters: consumer, message id, the transaction's idle-in-transaction timeout (text, or null
     * to keep the setting). Inserts nothing (0 rows) for a message already processed.
     */
    public final String insertProcessed;
    /**
     * Parameters: the transaction's idle-in-transaction timeout (text, or null to keep the setting),
     * consumer, message ids (uuid[], sorted). Returns the ids that were not yet recorded.
     */
    public final String insertProcessedBatch;
    /** Parameters: consumer, message id. */
    public final String deleteProcessedOne;
    /** Parameters: minimum age in ms, batch size. */
    public final String deletePublished;
    /** Parameters: minimum age in ms, batch size. */
    public final String deleteProcessed;
    /** Parameter: the channel. */
    public final String notify;
    /**
     * Parameter: how long the announcement lasts, in ms. Announces that a poller waits for a
     * notification, unless a writer holds the outbox's wake-up lock (then it waits for nobody and
     * returns no row): see {@code V3__notify_only_while_waiting.sql}. It takes the table's own lock
     * (version 4's trigger) and, only while the outbox's trigger function does not key by the table
     * (a schema at version 3), the one named after its spelling (version 3's trigger). On version 4
     * writers hold that text key as the migrating process spelt it, and an unqualified spelling is
     * every schema's table of that name. Decided within the statement: no round trip is added.
     */
    public final String announceWaiting;
    /** Withdraws every announcement: commits stop notifying until a poller announces again. */
    public final String withdrawWaiting;
    /** Starts listening on the channel. */
    public final String listen;
    /** Stops listening on the channel (before its connection goes back to a pool). */
    public final String unlisten;
    /** The columns of an {@code OutboxEntry}, from the outbox aliased {@code o}. */
    public final String entryColumns;
    /**
     * As {@link #entryColumns}, but with an empty payload: for a view that does not show it, so
     * that its cost does not grow with the payloads' size.
     */
    public final String entryColumnsWithoutPayload;

    /** Statements on the tables that {@code names} name. */
    public OutboxSql(OutboxNames names) {
        this.outbox = names.qualifiedOutboxTable();
        this.processed = names.qualifiedProcessedTable();
        this.columns = columns("o.attempts", PAYLOAD);
        this.insert = "INSERT INTO " + outbox + " (id, aggregate_type, aggregate_id, event_type, payload, headers)\n"
                + "VALUES (?, ?, ?, ?, ?::jsonb, ?::jsonb)";
        this.insertProcessed = "INSERT INTO " + processed + " (consumer, message_id) SELECT ?, ? WHERE " + DURABLE_COMMIT
                + " AND " + IDLE_IN_TRANSACTION_BOUND + "\nON CONFLICT DO NOTHING";
        this.insertProcessedBatch = """
                WITH durable AS MATERIALIZED (SELECT %s AND %s AS commit_waits)
                INSERT INTO %s (consumer, message_id)
                SELECT ?, id FROM durable, unnest(?::uuid[]) WITH ORDINALITY AS t(id, n) WHERE durable.commit_waits ORDER BY n
                ON CONFLICT DO NOTHING
                RETURNING message_id""".formatted(DURABLE_COMMIT, IDLE_IN_TRANSACTION_BOUND, processed);
        this.deleteProcessedOne = "DELETE FROM " + processed + " WHERE consumer = ? AND message_id = ?";
        this.deletePublished = """
                DELETE FROM %1$s WHERE id IN (
                  SELECT id FROM %1$s
                  WHERE status = 'PUBLISHED' AND published_at < now() - ? * interval '1 millisecond'
                  LIMIT ? FOR UPDATE SKIP LOCKED)""".formatted(outbox);
        this.deleteProcessed = """
                DELETE FROM %1$s WHERE (consumer, message_id) IN (
                  SELECT consumer, message_id FROM %1$s
                  WHERE processed_at < now() - ? * interval '1 millisecond'
                  LIMIT ? FOR UPDATE SKIP LOCKED)""".formatted(processed);
        this.notify = "SELECT pg_notify(?, '')";
        this.announceWaiting = """
                INSERT INTO %1$s AS w (waiting_until)
                SELECT now() + ? * interval '1 millisecond'
                WHERE pg_try_advisory_xact_lock(%3$d, '%4$s'::regclass::oid::integer)
                  AND CASE WHEN EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure('%5$s()')
                                                               AND prosrc LIKE '%%TG_RELID%%')
                      THEN true
                      ELSE pg_try_advisory_xact_lock(hashtextextended('%2$s', 0)) END
                ON CONFLICT (only_row) DO UPDATE SET waiting_until = greatest(w.waiting_until, excluded.waiting_until)
                RETURNING true""".formatted(names.qualifiedWakeupTable(), wakeupLockName(names), WAKEUP_LOCK_CLASS,
                names.qualifiedOutboxTable(), notifyFunction(names));
        this.withdrawWaiting = "UPDATE %s SET waiting_until = '-infinity' WHERE waiting_until > '-infinity'"
                .formatted(names.qualifiedWakeupTable());
        this.listen = "LISTEN " + SqlIdentifiers.quoted(names.channel());
        this.unlisten = "UNLISTEN " + SqlIdentifiers.quoted(names.channel());
        this.entryColumns = columns + ENTRY_STATE;
        this.entryColumnsWithoutPayload = columns("o.attempts", "''") + ENTRY_STATE;
    }

    /**
     * The first key of the outbox's wake-up lock since schema version 4, an advisory lock whose
     * second key is the outbox table's oid: the same for every spelling of the table's name, and
     * distinct for each outbox table. (A two-key advisory lock never meets a one-key one.)
     */
    public static final int WAKEUP_LOCK_CLASS = 0x6f62786b; // "obxk"

    /**
     * What named the outbox's wake-up lock up to schema version 3 (an advisory lock keyed by this
     * text's hash), as a writer's trigger and a waiting poller both took it: distinct for each
     * spelling of each outbox table. A poller still takes it besides the table's own lock
     * ({@link #WAKEUP_LOCK_CLASS}) on a schema at version 3; since version 4 a writer's trigger
     * takes it as the migrating process spelt it, for pollers of earlier releases that spell it
     * the same. Its characters are those of quoted identifiers, never a single quote, so it can be
     * written as a SQL string literal.
     */
    public static String wakeupLockName(OutboxNames names) {
        return "outboxkit wakeup " + names.qualifiedOutboxTable();
    }

    /** The outbox's trigger function (without its argument list), quoted and qualified as the schema's scripts name it. */
    public static String notifyFunction(OutboxNames names) {
        return SqlIdentifiers.qualified(names.schema(), names.notifyFunction());
    }

    /** The outbox table, quoted and qualified. */
    public String outbox() {
        return outbox;
    }

    /** The processed-messages table, quoted and qualified. */
    public String processed() {
        return processed;
    }

    private static String columns(String attempts, String payload) {
        return """
                o.id, o.seq, o.aggregate_type, o.aggregate_id, o.event_type, %s AS payload,
                o.headers::text AS headers, o.created_at, %s AS attempts""".formatted(payload, attempts);
    }

    /**
     * The conditions a message must meet to be claimed, ending with the ordering one when asked for.
     *
     * <p>{@code OFFSET 0} keeps the ordering check a probe of the aggregate's index for each
     * candidate, taken in write order until the batch is full. Without it PostgreSQL may turn the
     * check into an anti-join planned from statistics of the steady state (almost nothing
     * pending), which a backlog then meets as a join over every pending row.
     */
    private String due(boolean ordered, boolean deadBlocksAggregate) {
        String blockedByEarlier = !ordered ? "" : """
                  AND NOT EXISTS (
                      SELECT 1 FROM %s e
                      WHERE e.aggregate_type = o.aggregate_type AND e.aggregate_id = o.aggregate_id
                        AND e.seq < o.seq AND %s
                      OFFSET 0)
                """.formatted(outbox, deadBlocksAggregate ? "e.status <> 'PUBLISHED'" : "e.status = 'PENDING'");
        return """
                  WHERE o.status = 'PENDING'
                    AND o.seq >= ?
                    AND o.available_at <= now()
                    AND (o.locked_until IS NULL OR o.locked_until <= now())
                %s""".formatted(blockedByEarlier);
    }

    /**
     * Claims up to {@code limit} due messages for {@code owner} for {@code leaseMillis}, in write
     * order at or after a write position; parameters: owner, leaseMillis, the lowest seq to read
     * ({@code Long.MIN_VALUE}: all), limit. SKIP LOCKED lets several pollers claim at once
     * without waiting on each other; the lease (not a held transaction) keeps the claim while the
     * message is delivered. Cancelled after {@code statementTimeout}. Besides the message's
     * columns it returns {@code lease_end}, the lease's end as {@link #markFailed} compares it
     * (bigint; the same for every row of a claim). The lease runs from when the claim runs, not from its transaction's start: a
     * claim that waited behind a lock (a migration's, say) longer than the lease still hands out
     * a lease in force (the sub-select reads the clock once, for every row). A transaction of its
     * own ({@link #ownTransaction}): the claim's statement comes after the isolation's and the
     * settings' results.
     *
     * <p>The chosen ids reach the update as an array, which it can only look up in the primary
     * key; joined to the update instead, they could be estimated at the batch size and met with a
     * hash join over the whole table.
     */
    public String claim(boolean ordered, boolean deadBlocksAggregate, Duration statementTimeout) {
        // Sent in one round trip: the settings apply to this transaction only.
        return ownTransaction(planEachTime(statementTimeout) + """
                UPDATE %1$s o
                SET locked_by = ?,
                    locked_until = (SELECT clock_timestamp()) + ? * interval '1 millisecond',
                    attempts = o.attempts + 1
                WHERE o.id = ANY(ARRAY(
                  SELECT o.id FROM %1$s o
                %2$s  ORDER BY o.seq
                  LIMIT ?
                  FOR UPDATE SKIP LOCKED))
                RETURNING %3$s, %4$s AS lease_end""".formatted(outbox, due(ordered, deadBlocksAggregate), columns,
                LEASE_END));
    }

    /**
     * Locks up to {@code limit} due messages in a transaction it begins at READ COMMITTED (on a
     * connection of {@link OwnConnections#readCommitted}; the driver's BEGIN comes first), in write
     * order, and ends the session if it then stays idle in the transaction longer than the lease.
     * Three statements, the locking one last. Parameters: the
     * lease in ms (text), the lowest seq to read ({@code Long.MIN_VALUE}: all), limit. The
     * attempts column read is the attempt now starting, as after a lease claim;
     * {@link #markPublished} and {@link #markFailed} with {@code locked} write it.
     */
    public String lock(boolean ordered, boolean deadBlocksAggregate, Duration statementTimeout) {
        return OwnConnections.READ_COMMITTED + ";\n" + """
                SELECT set_config('idle_in_transaction_session_timeout', ?, true), %s;
                SELECT %s
                FROM %s o
                %s  ORDER BY o.seq
                LIMIT ?
                FOR UPDATE SKIP LOCKED""".formatted(planning(PLANNED_EACH_TIME, statementTimeout),
                columns("o.attempts + 1", PAYLOAD), outbox, due(ordered, deadBlocksAggregate));
    }

    /**
     * The setting that cancels each later statement of the transaction once it has run for
     * {@code limit}, so that one gone wrong (a bad plan, a wait on a forgotten lock) fails and is
     * retried instead of holding its connection and row locks without end.
     */
    private static String statementTimeout(Duration limit) {
        return "set_config('statement_timeout', '" + limit.toMillis() + "ms', true)";
    }

    /** The settings every statement of the poller runs under: cancelled after the timeout, index scans only. */
    private static String planning(String planCacheMode, Duration statementTimeout) {
        return statementTimeout(statementTimeout) + ", " + planCacheMode + ", " + INDEX_SCANS_ONLY;
    }

    /**
     * Put before a statement, in the same string: its transaction commits without waiting for its
     * WAL flush (a poller's write lost in a crash is undone as if the poller had died before it,
     * and the message is delivered again), its statements are cancelled after
     * {@code statementTimeout}, and a statement prepared on the server is planned anew at each
     * execution, on index scans only. Prepared, it is parsed once per connection; planned each
     * time, it is never run on a generic plan made while the outbox was empty, which would be a
     * scan of a later backlog. Needs PostgreSQL 12 or later (plan_cache_mode).
     */
    static String planEachTime(Duration statementTimeout) {
        return "SELECT " + COMMIT_WITHOUT_FLUSH + ", " + planning(PLANNED_EACH_TIME, statementTimeout) + ";\n";
    }

    /**
     * As {@link #planEachTime}, but on a plan cached per connection, which saves the planning: for
     * {@link #markPublished}, which finds its messages by id. With scans ruled out the primary key
     * is its only path, whatever the statistics when the plan was made. (The claims stay planned
     * at each execution: their plans depend on the backlog.)
     */
    public static String cachedPlan(Duration statementTimeout) {
        return "SELECT " + COMMIT_WITHOUT_FLUSH + ", " + planning(PLANNED_ONCE, statementTimeout) + ";\n";
    }

    /**
     * Records deliveries: the messages become PUBLISHED, or are deleted when {@code delete}, and
     * their ids are returned. Only those still pending and still claimed: locked by the current
     * transaction with {@code locked} (see {@link #lock}; the attempt is counted here), else under
     * a lease, this claim's or a later one's: an operator's requeue in between (which clears the
     * lease) wins, and the message is delivered again. Two statements, {@link #cachedPlan} then the
     * mark, in the locked claim's transaction; leased, a transaction of their own
     * ({@link #ownTransaction}). Parameter: the delivered ids (uuid[]).
     *
     * <p>With {@code reportLater}, the mark instead returns one row: the ids it marked (uuid[],
     * null when none), and whether a later message of one of their aggregates is not yet published
     * (held back until now, with ordering on: the poller then claims again at once, since no
     * notification announces it). It says {@code <> 'PUBLISHED'}, so that it can only probe the
     * ordering index.
     */
    public String markPublished(boolean locked, boolean delete, boolean reportLater, Duration statementTimeout) {
        String mark = (delete ? "DELETE FROM " + outbox + " o" : """
                UPDATE %s o
                SET status = 'PUBLISHED', published_at = now(), locked_by = NULL, locked_until = NULL%s"""
                .formatted(outbox, locked ? ", attempts = o.attempts + 1" : ""))
                + "\nWHERE o.id = ANY(?) AND " + STILL_PENDING + (locked ? "" : STILL_CLAIMED);
        if (!reportLater) {
            return ownTransactionUnless(locked, cachedPlan(statementTimeout) + mark + "\nRETURNING o.id");
        }
        return ownTransactionUnless(locked, cachedPlan(statementTimeout) + """
                WITH marked AS (
                %s
                RETURNING o.id, o.aggregate_type, o.aggregate_id, o.seq
                )
                SELECT array_agg(m.id) AS marked,
                       coalesce(bool_or(EXISTS (
                           SELECT 1 FROM %s n
                           WHERE n.aggregate_type = m.aggregate_type AND n.aggregate_id = m.aggregate_id
                             AND n.seq > m.seq AND n.status <> 'PUBLISHED')), false) AS later_pending
                FROM marked m""".formatted(mark, outbox));
    }

    /**
     * Records failed deliveries: back to PENDING after a delay, or DEAD once out of attempts.
     * Leased ({@code locked} false): only while the claim that failed still holds the message (the
     * owner, and the lease's end, which each claim sets anew from the clock, so that no later
     * claim, even by another worker of the same poller after an operator's requeue reset the
     * attempts, shares it): if an operator requeued the message, or the lease ran out and another
     * claim took it, that claim's outcome is the one that counts. Locked: the current transaction
     * holds the messages, and the attempt is counted here. Parameters: maxAttempts, ids (uuid[]),
     * errors (text[]), delays in ms (bigint[]), the trace contexts to record (traceparents and
     * tracestates, text[], a null element for none), and when leased the lease end
     * the claim returned ({@code lease_end} of {@link #claim}, one for all its rows, bigint) and the
     * owner. Statements as {@link #markPublished}'s: the update returns each message's id and new
     * status.
     *
     * <p>A message given a traceparent gets it in its headers in place of any trace context they
     * had (a tracestate goes with its traceparent), its other headers kept (headers that are no
     * JSON object, which read as none, become an object); one given none keeps its headers as they
     * are. Recorded in this same update, so a failure costs no further statement, and a delivery
     * nothing: its next attempt is then a child of the failed one's span (see {@link ProducerSpans}).
     */
    public String markFailed(boolean locked, Duration statementTimeout) {
        String attempts = locked ? "o.attempts + 1" : "o.attempts";
        return ownTransactionUnless(locked, planEachTime(statementTimeout) + """
                UPDATE %s o
                SET status = CASE WHEN %s >= ? THEN 'DEAD' ELSE 'PENDING' END,
                    attempts = %s,
                    available_at = now() + f.delay_millis * interval '1 millisecond',
                    last_error = f.error,
                    locked_by = NULL,
                    locked_until = NULL,
                    headers = CASE WHEN f.traceparent IS NULL THEN o.headers
                        ELSE CASE WHEN jsonb_typeof(o.headers) = 'object' THEN o.headers - 'tracestate' ELSE '{}'::jsonb END
                             || jsonb_strip_nulls(jsonb_build_object('traceparent', f.traceparent, 'tracestate', f.tracestate))
                        END
                FROM unnest(?::uuid[], ?::text[], ?::bigint[], ?::text[], ?::text[])
                    AS f(id, error, delay_millis, traceparent, tracestate)
                WHERE o.id = f.id AND %s%s
                RETURNING o.id, o.status""".formatted(outbox, attempts, attempts, STILL_PENDING,
                locked ? "" : " AND " + LEASE_END + " = ?::bigint AND o.locked_by = ?"));
    }

    /**
     * Gives a leased claim's messages back without counting its attempt: claimable again at once,
     * with the attempts they had before the claim; only those the claim still holds (as
     * {@link #markFailed}). For a fault of the poller's deployment, not of the messages.
     * Parameters: ids (uuid[]), the claim's lease end (bigint), the owner. Bounded by
     * {@code statementTimeout}, as the poller's other statements.
     */
    public String giveBack(Duration statementTimeout) {
        return ownTransaction(planEachTime(statementTimeout) + """
                UPDATE %s o
                SET attempts = greatest(o.attempts - 1, 0), locked_by = NULL, locked_until = NULL
                WHERE o.id = ANY(?::uuid[]) AND %s AND %s = ?::bigint AND o.locked_by = ?""".formatted(outbox,
                STILL_PENDING, LEASE_END));
    }

    /**
     * {@code statements} as a transaction of the library's own, sent whole in one round trip on a
     * connection with auto-commit off ({@link OwnConnections#readCommitted}): at READ COMMITTED,
     * whatever the session's default, and committed by its last statement. Its results come after
     * one of the isolation's (an update count).
     */
    static String ownTransaction(String statements) {
        return OwnConnections.READ_COMMITTED + ";\n" + statements + ";\nCOMMIT";
    }

    /** {@code statements} as they are for a locked claim's open transaction, else {@link #ownTransaction}. */
    private static String ownTransactionUnless(boolean locked, String statements) {
        return locked ? statements : ownTransaction(statements);
    }
}
