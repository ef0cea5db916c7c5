package io.outboxkit.core.internal;

import java.time.Duration;

/** The SQL outbox-core runs; every value is a bound JDBC parameter, in the order each Javadoc gives. */
public final class OutboxSql {

    private OutboxSql() {
    }

    /** Parameters: id, aggregate type, aggregate id, event type, payload, headers (JSON text). */
    public static final String INSERT = """
            INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, headers)
            VALUES (?, ?, ?, ?, ?::jsonb, ?::jsonb)""";

    static final String COLUMNS = columns("o.attempts");

    private static String columns(String attempts) {
        return """
                o.id, o.seq, o.aggregate_type, o.aggregate_id, o.event_type, o.payload::text AS payload,
                o.headers::text AS headers, o.created_at, %s AS attempts""".formatted(attempts);
    }

    /**
     * The conditions a message must meet to be claimed, ending with the ordering one when asked for.
     *
     * <p>{@code OFFSET 0} keeps the ordering check a probe of the aggregate's index for each
     * candidate, taken in write order until the batch is full. Without it PostgreSQL turns the
     * check into an anti-join planned from the statistics, and statistics taken in the steady state
     * say that almost nothing is pending (that is an outbox's normal state): a backlog then meets a
     * join over every pending row, or a nested loop whose inner side scans the whole index for each
     * of them. Seen in a bench run: claims of several seconds at 500 messages/s, the relays falling
     * behind, 80,000 messages pending. Measured with such statistics and 20,000 pending: 74 ms per
     * claim of 100 with the join, 2.4 ms with the probe.
     */
    private static String due(boolean ordered, boolean deadBlocksAggregate) {
        String blockedByEarlier = !ordered ? "" : """
                  AND NOT EXISTS (
                      SELECT 1 FROM outbox e
                      WHERE e.aggregate_type = o.aggregate_type AND e.aggregate_id = o.aggregate_id
                        AND e.seq < o.seq AND %s
                      OFFSET 0)
                """.formatted(deadBlocksAggregate ? "e.status <> 'PUBLISHED'" : "e.status = 'PENDING'");
        return """
                  WHERE o.status = 'PENDING'
                    AND o.available_at <= now()
                    AND (o.locked_until IS NULL OR o.locked_until <= now())
                %s""".formatted(blockedByEarlier);
    }

    /**
     * Claims up to {@code limit} due messages for {@code owner} for {@code leaseMillis}, in write
     * order; parameters: owner, leaseMillis, limit. SKIP LOCKED lets several pollers claim at once
     * without waiting on each other; the lease (not a held transaction) keeps the claim while the
     * message is delivered. Cancelled after {@code statementTimeout}.
     *
     * <p>The chosen ids reach the update as an array, which it can only look up in the primary
     * key. Joined to the update instead (a CTE), they are estimated at the batch size whatever
     * was found, and on an outbox of a few thousand rows (a steady stream with retention on) a
     * hash join over a sequential scan of the whole table then looks cheaper than 100 probes:
     * measured with pgbench on 7,500 rows, one pending, 1.39 ms per claim instead of 0.45.
     */
    public static String claim(boolean ordered, boolean deadBlocksAggregate, Duration statementTimeout) {
        // Two statements sent in one round trip: the settings apply to this transaction only.
        return planEachTime(statementTimeout) + """
                UPDATE outbox o
                SET locked_by = ?,
                    locked_until = now() + ? * interval '1 millisecond',
                    attempts = o.attempts + 1
                WHERE o.id = ANY(ARRAY(
                  SELECT o.id FROM outbox o
                %s  ORDER BY o.seq
                  LIMIT ?
                  FOR UPDATE SKIP LOCKED))
                RETURNING %s""".formatted(due(ordered, deadBlocksAggregate), COLUMNS);
    }

    /**
     * Locks up to {@code limit} due messages in the current transaction, in write order, and ends
     * the session if it then stays idle in the transaction longer than the lease. Parameters:
     * the lease in ms (text), limit. The attempts column read is the attempt now starting, as
     * after a lease claim; {@link #markPublished} and {@link #markFailed} with {@code locked}
     * write it. Each statement of the transaction is cancelled after {@code statementTimeout};
     * the lock is planned at each execution, on index scans only, as {@link #planEachTime} says.
     */
    public static String lock(boolean ordered, boolean deadBlocksAggregate, Duration statementTimeout) {
        return """
                SELECT set_config('idle_in_transaction_session_timeout', ?, true), %s;
                SELECT %s
                FROM outbox o
                %s  ORDER BY o.seq
                LIMIT ?
                FOR UPDATE SKIP LOCKED""".formatted(planning(PLANNED_EACH_TIME, statementTimeout),
                columns("o.attempts + 1"), due(ordered, deadBlocksAggregate));
    }

    /** The setting that lets a transaction commit without waiting for its WAL flush. */
    private static final String COMMIT_WITHOUT_FLUSH = "set_config('synchronous_commit', 'off', true)";

    /** The setting that plans a prepared statement at each execution, never on a cached generic plan. */
    private static final String PLANNED_EACH_TIME = "set_config('plan_cache_mode', 'force_custom_plan', true)";

    /** The setting that plans a prepared statement once per connection (a generic plan, cached). */
    private static final String PLANNED_ONCE = "set_config('plan_cache_mode', 'force_generic_plan', true)";

    /**
     * The settings that rule out sequential and bitmap scans, leaving PostgreSQL the index scans
     * the poller's statements are written for, whatever the statistics say: a claim walks the
     * pending index in write order and stops at its batch; a record finds its messages by primary
     * key. Planned from statistics older than the rows (an outbox never analyzed, or analyzed
     * while empty: a new deployment, or a server whose autovacuum is off), a claim was a bitmap
     * scan of every entry of the pending index, each delivered message's dead one included, and a
     * sort of them all: measured 14 ms per claim with 84,000 such entries, 0.26 ms walking the
     * index. Neither scan can be better for these statements: a bitmap scan reads every candidate
     * before it can sort them, where the index scan stops after the batch.
     */
    private static final String INDEX_SCANS_ONLY =
            "set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)";

    /**
     * The setting that cancels each later statement of the transaction once it has run for
     * {@code limit}: a safety net under the poller's statements, so that one gone wrong (a bad
     * plan, a wait on a lock an operator forgot) fails, is logged and is retried, instead of
     * holding its connection and row locks without end. Replaces, for that transaction only, any
     * statement_timeout of the session.
     */
    private static String statementTimeout(Duration limit) {
        return "set_config('statement_timeout', '" + limit.toMillis() + "ms', true)";
    }

    /**
     * The settings every statement of the poller runs under, whichever way it is planned
     * ({@link #PLANNED_EACH_TIME} or {@link #PLANNED_ONCE}): cancelled after {@code statementTimeout},
     * on index scans only.
     */
    private static String planning(String planCacheMode, Duration statementTimeout) {
        return statementTimeout(statementTimeout) + ", " + planCacheMode + ", " + INDEX_SCANS_ONLY;
    }

    /**
     * Put before a statement, in the same string: the transaction it runs in (an explicit one, or
     * the implicit one of a multi-statement string in auto-commit mode) commits without waiting
     * for its WAL flush, its statements are cancelled after {@code statementTimeout}, and a
     * statement prepared on the server is planned anew at each execution, for the outbox as it is
     * then and with its parameters' values, on index scans only ({@link #INDEX_SCANS_ONLY}): the
     * claims, and the failure records. The relay's own
     * writes can all afford to skip the flush: a claim or an outcome lost in a database crash is
     * undone as if the relay had died before writing it, and the message is delivered again (see
     * OutboxStore).
     *
     * <p>Left to itself, PostgreSQL settles on one generic plan for a statement prepared on the
     * server once it has run it five times; made while the outbox was empty (after a VACUUM of an
     * empty table, say), that plan is sequential scans, kept until the table is analyzed again: a
     * backlog written meanwhile is claimed in time quadratic in its size (131 s for one claim of
     * 100 out of 20,000). Prepared but planned each time, a claim saves its parsing: measured with
     * pgbench, 0.53 ms per claim instead of 0.61 parsed each time. Needs PostgreSQL 12 or later
     * (plan_cache_mode).
     */
    static String planEachTime(Duration statementTimeout) {
        return "SELECT " + COMMIT_WITHOUT_FLUSH + ", " + planning(PLANNED_EACH_TIME, statementTimeout) + ";\n";
    }

    /**
     * As {@link #planEachTime}, but for a plan cached per connection: put before
     * {@link #markPublished}, which finds its messages by id. Planning
     * the mark took 0.19 of the 0.45 ms PostgreSQL spent on it (pg_stat_statements, a bench run at
     * 500 orders/s). A generic plan is made from the statistics and the table's size of its
     * moment, and one made while the outbox was nearly empty could otherwise be a scan, kept while
     * a backlog grows; with scans ruled out, the primary key is the only index that finds rows by
     * id. (The claims stay planned at each execution: a lock claim on a cached plan ran for 25
     * minutes in a bench run, on a plan that could not be reproduced afterwards.)
     */
    public static String cachedPlan(Duration statementTimeout) {
        return "SELECT " + COMMIT_WITHOUT_FLUSH + ", " + planning(PLANNED_ONCE, statementTimeout) + ";\n";
    }

    /**
     * "Still pending", for a statement that finds its messages by id. Written so that it implies
     * neither partial index's predicate: PostgreSQL then cannot scan one of them instead of probing
     * the primary key for each id. With the steady state's statistics (nearly nothing pending) it
     * would, since such an index looks almost empty; under a backlog that scan reads every pending
     * message for every batch (measured: 108 ms per mark of 100 out of 100,000 pending, instead of
     * well under one).
     */
    private static final String STILL_PENDING = "coalesce(o.status, '') = 'PENDING'";

    /**
     * Records deliveries: the messages become PUBLISHED, or are deleted when {@code delete}.
     * Only those still pending (an operator's change in between wins). With {@code locked} (the
     * messages are locked by the current transaction, see {@link #lock}) it also counts the attempt.
     * Two statements: {@link #cachedPlan}, then the mark, whose update count is the
     * second result. Parameter: the delivered ids (uuid[]).
     *
     * <p>With {@code reportLater}, the mark instead returns one row: how many messages it marked,
     * and whether a later message of one of their aggregates is not yet published (held back until
     * now, with ordering on: the poller then claims again at once instead of waiting for a
     * notification, which nothing sends when a message becomes due this way). A poller asks only
     * after a partial batch (after a full one it claims again anyway): the check probes the
     * aggregate's index once per message, measured at 40% of a delete-on-publish batch's time.
     * It says {@code <> 'PUBLISHED'}, not {@code = 'PENDING'}, so that it can only probe that
     * index (see {@link #STILL_PENDING} for why that matters).
     */
    public static String markPublished(boolean locked, boolean delete, boolean reportLater, Duration statementTimeout) {
        String mark = (delete ? "DELETE FROM outbox o" : """
                UPDATE outbox o
                SET status = 'PUBLISHED', published_at = now(), locked_by = NULL, locked_until = NULL%s"""
                .formatted(locked ? ", attempts = o.attempts + 1" : ""))
                + "\nWHERE o.id = ANY(?) AND " + STILL_PENDING;
        if (!reportLater) {
            return cachedPlan(statementTimeout) + mark;
        }
        return cachedPlan(statementTimeout) + """
                WITH marked AS (
                %s
                RETURNING o.aggregate_type, o.aggregate_id, o.seq
                )
                SELECT count(*) AS marked,
                       coalesce(bool_or(EXISTS (
                           SELECT 1 FROM outbox n
                           WHERE n.aggregate_type = m.aggregate_type AND n.aggregate_id = m.aggregate_id
                             AND n.seq > m.seq AND n.status <> 'PUBLISHED')), false) AS later_pending
                FROM marked m""".formatted(mark);
    }

    /**
     * Records failed deliveries: back to PENDING after a delay, or DEAD once out of attempts.
     * Leased ({@code locked} false): only while the failing poller still holds the lease: if the
     * lease ran out and another poller claimed the message, that poller's outcome is the one that
     * counts. Locked: the current transaction holds the messages, and the attempt is counted here.
     * Parameters: maxAttempts, ids (uuid[]), errors (text[]), delays in ms (bigint[]), and the
     * owner when leased. Two statements, as {@link #markPublished}: the second returns each
     * message's id and new status.
     */
    public static String markFailed(boolean locked, Duration statementTimeout) {
        String attempts = locked ? "o.attempts + 1" : "o.attempts";
        return planEachTime(statementTimeout) + """
                UPDATE outbox o
                SET status = CASE WHEN %s >= ? THEN 'DEAD' ELSE 'PENDING' END,
                    attempts = %s,
                    available_at = now() + f.delay_millis * interval '1 millisecond',
                    last_error = f.error,
                    locked_by = NULL,
                    locked_until = NULL
                FROM unnest(?::uuid[], ?::text[], ?::bigint[]) AS f(id, error, delay_millis)
                WHERE o.id = f.id AND %s%s
                RETURNING o.id, o.status""".formatted(attempts, attempts, STILL_PENDING, locked ? "" : " AND o.locked_by = ?");
    }

    /** Parameters: consumer, message id. Inserts nothing (0 rows) for a message already processed. */
    public static final String INSERT_PROCESSED = """
            INSERT INTO processed_messages (consumer, message_id) VALUES (?, ?)
            ON CONFLICT DO NOTHING""";

    /** Parameters: consumer, message ids (uuid[], sorted). Returns the ids that were not yet recorded. */
    public static final String INSERT_PROCESSED_BATCH = """
            INSERT INTO processed_messages (consumer, message_id)
            SELECT ?, id FROM unnest(?::uuid[]) WITH ORDINALITY AS t(id, n) ORDER BY n
            ON CONFLICT DO NOTHING
            RETURNING message_id""";

    /** Parameters: minimum age in ms, batch size. */
    public static final String DELETE_PUBLISHED = """
            DELETE FROM outbox WHERE id IN (
              SELECT id FROM outbox
              WHERE status = 'PUBLISHED' AND published_at < now() - ? * interval '1 millisecond'
              LIMIT ? FOR UPDATE SKIP LOCKED)""";

    /** Parameters: minimum age in ms, batch size. */
    public static final String DELETE_PROCESSED = """
            DELETE FROM processed_messages WHERE (consumer, message_id) IN (
              SELECT consumer, message_id FROM processed_messages
              WHERE processed_at < now() - ? * interval '1 millisecond'
              LIMIT ? FOR UPDATE SKIP LOCKED)""";

    public static final String NOTIFY = "SELECT pg_notify('" + OutboxSql.CHANNEL + "', '')";

    /** The channel the insert trigger notifies on (see V1__outbox.sql). */
    public static final String CHANNEL = "outbox";

    public static final String ENTRY_COLUMNS = COLUMNS + """
            , o.status, o.last_error, o.available_at, o.published_at, o.locked_by, o.locked_until""";
}
