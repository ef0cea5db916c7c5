package io.outboxkit.core.internal;

/** The SQL outbox-core runs; every value is a bound JDBC parameter, in the order each Javadoc gives. */
public final class OutboxSql {

    private OutboxSql() {
    }

    /** Parameters: id, aggregate type, aggregate id, event type, payload, headers (JSON text). */
    public static final String INSERT = """
            INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, headers)
            VALUES (?, ?, ?, ?, ?::jsonb, ?::jsonb)""";

    static final String COLUMNS = """
            o.id, o.seq, o.aggregate_type, o.aggregate_id, o.event_type, o.payload::text AS payload,
            o.headers::text AS headers, o.created_at, o.attempts""";

    /**
     * Claims up to {@code limit} due messages for {@code owner} for {@code leaseMillis} (the three
     * parameters, in that order), in write order. SKIP LOCKED lets several pollers claim at once without waiting on each other; the
     * lease (not a held transaction) keeps the claim while the message is delivered.
     */
    public static String claim(boolean ordered, boolean deadBlocksAggregate) {
        String blockedByEarlier = !ordered ? "" : """
                  AND NOT EXISTS (
                      SELECT 1 FROM outbox e
                      WHERE e.aggregate_type = o.aggregate_type AND e.aggregate_id = o.aggregate_id
                        AND e.seq < o.seq AND %s)
                """.formatted(deadBlocksAggregate ? "e.status <> 'PUBLISHED'" : "e.status = 'PENDING'");
        return """
                WITH due AS (
                  SELECT o.id FROM outbox o
                  WHERE o.status = 'PENDING'
                    AND o.available_at <= now()
                    AND (o.locked_until IS NULL OR o.locked_until <= now())
                %s  ORDER BY o.seq
                  LIMIT ?
                  FOR UPDATE SKIP LOCKED
                )
                UPDATE outbox o
                SET locked_by = ?,
                    locked_until = now() + ? * interval '1 millisecond',
                    attempts = o.attempts + 1
                FROM due
                WHERE o.id = due.id
                RETURNING %s""".formatted(blockedByEarlier, COLUMNS);
    }

    /** Run first in the claim's transaction: its commit need not wait for the WAL flush (see OutboxStore.claim). */
    public static final String CLAIM_WITHOUT_FLUSH_WAIT = "SET LOCAL synchronous_commit = off";

    /** Parameter: the delivered ids (uuid[]). */
    public static final String MARK_PUBLISHED = """
            UPDATE outbox
            SET status = 'PUBLISHED', published_at = now(), locked_by = NULL, locked_until = NULL
            WHERE id = ANY(?) AND status = 'PENDING'""";

    /**
     * Records failed deliveries: back to PENDING after a delay, or DEAD once out of attempts.
     * Only while the failing poller still holds the lease: if the lease ran out and another
     * poller claimed the message, that poller's outcome is the one that counts.
     * Parameters: maxAttempts, ids (uuid[]), errors (text[]), delays in ms (bigint[]), owner.
     */
    public static final String MARK_FAILED = """
            UPDATE outbox o
            SET status = CASE WHEN o.attempts >= ? THEN 'DEAD' ELSE 'PENDING' END,
                available_at = now() + f.delay_millis * interval '1 millisecond',
                last_error = f.error,
                locked_by = NULL,
                locked_until = NULL
            FROM unnest(?::uuid[], ?::text[], ?::bigint[]) AS f(id, error, delay_millis)
            WHERE o.id = f.id AND o.status = 'PENDING' AND o.locked_by = ?""";

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
