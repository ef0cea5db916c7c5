package io.outboxkit.core;

import io.outboxkit.core.internal.MessageRows;
import io.outboxkit.core.internal.OutboxSql;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.function.UnaryOperator;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.Update;

/**
 * What an operator does with the outbox: look at messages, and put them back for redelivery.
 *
 * <p>A requeued message is PENDING again with its attempts reset, due at once, and pollers are
 * woken. It keeps its id, so a consumer that already processed it skips it as a duplicate; it
 * keeps its place in its aggregate's order. Thread-safe.
 */
public final class OutboxAdmin {

    /** The most entries one {@link #list} call returns. */
    public static final int MAX_LIST = 10_000;

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

    private OutboxAdmin(Jdbi jdbi, OutboxNames names) {
        this.jdbi = jdbi;
        this.names = names;
        this.sql = new OutboxSql(names);
        this.requeue = """
                UPDATE %s SET status = 'PENDING', attempts = 0, available_at = now(),
                              locked_by = NULL, locked_until = NULL, published_at = NULL
                WHERE\s""".formatted(sql.outbox());
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
     * The first {@code limit} messages in {@code status}, oldest first.
     *
     * @throws IllegalArgumentException when limit is not 1 to {@value #MAX_LIST}
     * @throws OutboxException          when the database fails
     */
    public List<OutboxEntry> list(MessageStatus status, int limit) {
        Objects.requireNonNull(status, "status");
        if (limit < 1 || limit > MAX_LIST) {
            throw new IllegalArgumentException("limit must be 1 to " + MAX_LIST + ", was " + limit);
        }
        return run("list " + status + " messages", h -> h.createQuery(
                        "SELECT " + sql.entryColumns + " FROM " + sql.outbox() + " o WHERE o.status = :status ORDER BY o.seq LIMIT :limit")
                .bind("status", status.name())
                .bind("limit", limit)
                .map(ENTRY)
                .list());
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

    /** Requeues every message written at or after {@code since}, whatever its status; returns how many. */
    public int requeueSince(Instant since) {
        Objects.requireNonNull(since, "since");
        return requeueWhere("created_at >= :since", "messages since " + since,
                q -> q.bind("since", Timestamp.from(since)));
    }

    private int requeueWhere(String condition, String what,
                             UnaryOperator<Update> binder) {
        return run("requeue " + what, h -> h.inTransaction(tx -> {
            int count = binder.apply(tx.createUpdate(requeue + condition)).execute();
            if (count > 0) {
                tx.execute(sql.notify, names.channel());
            }
            return count;
        }));
    }

    private <T> T run(String attempted, HandleCallback<T, RuntimeException> work) {
        try {
            return jdbi.withHandle(work);
        } catch (JdbiException e) {
            throw new OutboxException("could not " + attempted + ": " + rootMessage(e), e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage();
    }
}
