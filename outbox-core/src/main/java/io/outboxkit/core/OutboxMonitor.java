package io.outboxkit.core;

import io.outboxkit.core.spi.Causes;
import io.outboxkit.core.internal.OutboxSql;
import io.outboxkit.core.internal.OwnConnections;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;

/**
 * The figures of an outbox that an operator watches: pending and dead messages, the age of the
 * oldest pending one, and an estimate of the delivered ones kept ({@link OutboxSnapshot}), read
 * cheaply and cached, so that metrics scraped every second by several servers, a console and a
 * health check may all ask as often as they like: the database is read at most once per
 * {@link #maxAge()} (default {@link #DEFAULT_MAX_AGE}), by one caller while the others wait for
 * its answer. Counting a large backlog takes the database time (tens of milliseconds for 100,000
 * pending messages whose pages were not vacuumed yet), so a reading is also reused for
 * {@value #COST_FACTOR} times as long as its statement took (up to {@link #MAX_STRETCH}): the figures
 * take about 2% of one database connection's time at most, however large the backlog, at the price
 * of older figures while it is large (60 ms readings are refreshed every 3 seconds, not every second).
 *
 * <p>One statement reads the figures: the pending count and the oldest pending message from the
 * pending-messages index (the claim's), the dead count from the dead-messages index (schema version
 * 2), the delivered ones from PostgreSQL's running count of the table's live rows
 * ({@code pg_stat_get_live_tuples}), so no figure reads the table's delivered rows. The age is
 * computed on the database's clock, so a skew between this machine's clock and the database's
 * does not show in it. It runs under a statement timeout of its own
 * ({@link #STATEMENT_TIMEOUT}). Thread-safe.
 */
public final class OutboxMonitor {

    /** How long a snapshot is reused unless set: 1 second. */
    public static final Duration DEFAULT_MAX_AGE = Duration.ofSeconds(1);
    /** How long the statement may run before PostgreSQL cancels it: 5 seconds. */
    public static final Duration STATEMENT_TIMEOUT = Duration.ofSeconds(5);

    /** How many times as long as its statement took a reading is reused at least, unless maxAge is 0. */
    static final int COST_FACTOR = 50;
    /** The longest a costly reading is reused when maxAge is shorter: 1 minute. */
    static final Duration MAX_STRETCH = Duration.ofMinutes(1);

    private final Jdbi jdbi;
    private final String query;
    private final Duration maxAge;
    private final Object refreshing = new Object();
    private volatile Reading last;

    /** A snapshot, or the failure to take one, when, and until when it is reused. */
    private record Reading(OutboxSnapshot snapshot, OutboxException failure, long atNanos, long reuseNanos) {
    }

    private OutboxMonitor(Jdbi jdbi, OutboxNames names, Duration maxAge) {
        this.jdbi = jdbi;
        this.maxAge = maxAge;
        String outbox = new OutboxSql(names).outbox();
        this.query = """
                SELECT
                  (SELECT count(*) FROM %1$s WHERE status = 'PENDING') AS pending,
                  (SELECT count(*) FROM %1$s WHERE status = 'DEAD') AS dead,
                  pg_stat_get_live_tuples('%2$s'::regclass) AS live,
                  oldest.id AS oldest_id,
                  coalesce(oldest.age, 0) AS oldest_age
                FROM (SELECT 1) AS one
                LEFT JOIN LATERAL (
                  SELECT o.id, extract(epoch FROM statement_timestamp() - o.created_at) AS age
                  FROM %1$s o
                  WHERE o.status = 'PENDING' AND (o.available_at <= statement_timestamp() OR o.attempts > 0)
                  ORDER BY o.seq LIMIT 1) AS oldest ON true""".formatted(outbox, outbox.replace("'", "''"));
    }

    /** A monitor of the outbox that {@code names} name, reading at most once per {@link #DEFAULT_MAX_AGE}. */
    public static OutboxMonitor create(Jdbi jdbi, OutboxNames names) {
        return create(jdbi, names, DEFAULT_MAX_AGE);
    }

    /**
     * A monitor of the outbox that {@code names} name, reusing a snapshot for {@code maxAge}, or
     * {@value #COST_FACTOR} times as long as reading it took when that is longer (0 to read at
     * every call, whatever it costs; at most 1 hour).
     *
     * @throws InvalidOptionException when maxAge is negative or over an hour
     */
    public static OutboxMonitor create(Jdbi jdbi, OutboxNames names, Duration maxAge) {
        Objects.requireNonNull(jdbi, "jdbi");
        Objects.requireNonNull(names, "names");
        if (maxAge == null || maxAge.isNegative() || maxAge.compareTo(Duration.ofHours(1)) > 0) {
            throw new InvalidOptionException("OutboxMonitor", List.of("maxAge"),
                    "maxAge must be 0 to 1 hour, was " + maxAge);
        }
        return new OutboxMonitor(jdbi, names, maxAge);
    }

    /** How long a snapshot is reused at least (longer when reading it took more than 1/{@value #COST_FACTOR} of that). */
    public Duration maxAge() {
        return maxAge;
    }

    /**
     * The figures, read now unless a reading younger than {@link #maxAge()} exists (or than
     * {@value #COST_FACTOR} times how long its statement took, when that is longer). A failed
     * reading is reused as long as a good one would be, so that callers asking while the database
     * is down do not each wait for it; one that got no connection is reused for maxAge only, so
     * the figures come back within maxAge of the database.
     *
     * @throws OutboxException when the database could not be read (now, or within maxAge)
     */
    public OutboxSnapshot snapshot() {
        Reading reading = fresh(last);
        if (reading == null) {
            synchronized (refreshing) {
                reading = fresh(last);
                if (reading == null) {
                    reading = read();
                    last = reading;
                }
            }
        }
        if (reading.failure() != null) {
            throw reading.failure();
        }
        return reading.snapshot();
    }

    private Reading fresh(Reading reading) {
        return reading != null && System.nanoTime() - reading.atNanos() < reading.reuseNanos() ? reading : null;
    }

    /**
     * How long a reading whose statement took {@code tookNanos} is reused: maxAge, or up to
     * {@link #MAX_STRETCH} for a costly one; 0 when maxAge is.
     */
    static long reuseNanos(Duration maxAge, long tookNanos) {
        long max = maxAge.toNanos();
        if (max == 0) {
            return 0;
        }
        long stretched = Math.min(tookNanos, MAX_STRETCH.toNanos()) * COST_FACTOR;
        return Math.max(max, Math.min(stretched, MAX_STRETCH.toNanos()));
    }

    private Reading read() {
        Instant at = Instant.now();
        // Timed from the statement, not the connection's wait: the database's time is what is rationed,
        // and a reading that never got a connection (the database down, the pool exhausted) cost it none.
        Long[] started = {null};
        try {
            OutboxSnapshot snapshot = OwnConnections.inReadingTransaction(jdbi, h -> {
                started[0] = System.nanoTime();
                h.execute("SET LOCAL statement_timeout = " + STATEMENT_TIMEOUT.toMillis());
                return h.createQuery(query).map((rs, ctx) -> {
                long pending = rs.getLong("pending");
                long dead = rs.getLong("dead");
                long published = Math.max(0, rs.getLong("live") - pending - dead);
                Duration age = Duration.ofNanos(Math.max(0, Math.round(rs.getDouble("oldest_age") * 1e9)));
                return new OutboxSnapshot(pending, dead, published, age, rs.getObject("oldest_id", UUID.class), at);
                }).one();
            });
            long done = System.nanoTime();
            return new Reading(snapshot, null, done, reuseNanos(maxAge, done - started[0]));
        } catch (JdbiException | IllegalStateException e) {
            long done = System.nanoTime();
            long took = started[0] == null ? 0 : done - started[0];
            return new Reading(null, new OutboxException("could not read the outbox's figures: " + Causes.rootMessage(e), e),
                    done, reuseNanos(maxAge, took));
        }
    }
}
