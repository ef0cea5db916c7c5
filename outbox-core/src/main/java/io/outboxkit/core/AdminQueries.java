package io.outboxkit.core;

import io.outboxkit.core.internal.OutboxSql;

/**
 * The SQL of {@link OutboxAdmin}'s views for a console: each one reads an index in write order and
 * stops early, so its cost does not grow with the outbox's history. Immutable and thread-safe.
 */
final class AdminQueries {

    /**
     * Put before a view's statement, in the same transaction: PostgreSQL cancels a statement that
     * runs longer than the limit (a plan gone wrong fails the page instead of loading the database),
     * and sequential scans are ruled out, so that the indexes each statement is written for are
     * used whatever the statistics say (as the poller's own statements do).
     */
    static final String BOUNDED =
            "SELECT set_config('statement_timeout', ?, true) AS timeout, set_config('enable_seqscan', 'off', true) AS scans";

    private final String outbox;
    private final String entryColumns;

    /** Who holds leases: the pending index's rows with a lease that has not ended, by holder. */
    final String leaseHolders;

    AdminQueries(OutboxSql sql) {
        this.outbox = sql.outbox();
        this.entryColumns = sql.entryColumns;
        this.leaseHolders = """
                SELECT o.locked_by, count(*) AS messages, max(o.locked_until) AS lease_end
                FROM %s o
                WHERE o.status = 'PENDING' AND o.locked_until > now()
                GROUP BY o.locked_by
                ORDER BY o.locked_by
                LIMIT :limit""".formatted(outbox);
    }

    /**
     * The candidate rows of {@code query}, as the subquery {@code o}: at most {@code :examine} rows
     * past {@code :after} in the query's order, read from the index that matches its status (and
     * aggregate), so that a condition no index covers costs at most that many rows.
     *
     * <ul>
     *   <li>PENDING: the pending index, in write order.</li>
     *   <li>DEAD: the DEAD index (schema version 2), in write order.</li>
     *   <li>PENDING or DEAD of one aggregate: the undelivered-aggregate index, the aggregate's range in write order.</li>
     *   <li>Otherwise: the sequence index, in write order.</li>
     * </ul>
     */
    private String candidates(MessageQuery query) {
        StringBuilder where = new StringBuilder();
        String order = "o.seq";
        if (query.status() == MessageStatus.PENDING && !query.wholeAggregate()) {
            where.append("o.status = 'PENDING'");
        } else if (query.status() == MessageStatus.DEAD && !query.wholeAggregate()) {
            where.append("o.status = 'DEAD'");
        } else if (query.status() != null && query.status() != MessageStatus.PUBLISHED) {
            where.append("o.status <> 'PUBLISHED' AND o.aggregate_type = :aggregate_type AND o.aggregate_id = :aggregate_id");
        } else {
            where.append("true");
        }
        if (query.after() != null) {
            where.append(query.newest() ? " AND o.seq < :after" : " AND o.seq > :after");
        }
        return "SELECT * FROM %s o WHERE %s ORDER BY %s %s LIMIT :examine"
                .formatted(outbox, where, order, direction(query));
    }

    /**
     * The page: the candidates that meet every condition of {@code query}, at most
     * {@code :limit} (one more than the page, to tell whether another follows).
     */
    String page(MessageQuery query) {
        StringBuilder where = new StringBuilder("true");
        if (query.status() != null) {
            where.append(" AND o.status = :status");
        }
        if (query.aggregateType() != null) {
            where.append(" AND o.aggregate_type = :aggregate_type");
        }
        if (query.aggregateId() != null) {
            where.append(" AND o.aggregate_id = :aggregate_id");
        }
        if (query.eventType() != null) {
            where.append(" AND o.event_type = :event_type");
        }
        return "SELECT %s FROM (%s) o WHERE %s ORDER BY o.seq %s LIMIT :limit"
                .formatted(entryColumns, candidates(query), where, direction(query));
    }

    /** How many candidates {@code query} had, and the last one's sequence: where a short page stopped. */
    String examined(MessageQuery query) {
        return "SELECT count(*) AS examined, %s(o.seq) AS edge FROM (%s) o"
                .formatted(query.newest() ? "min" : "max", candidates(query));
    }

    private static String direction(MessageQuery query) {
        return query.newest() ? "DESC" : "ASC";
    }
}
