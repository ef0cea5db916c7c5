package io.outboxkit.bench;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Measures each message's time from the commit of the order that wrote it to the commit of the
 * consumer's effect, inside PostgreSQL, without disturbing either transaction much.
 *
 * <p>Two bench-only DEFERRED constraint triggers run at the very end of each transaction, just
 * before its commit record is written: one on the outbox insert (the order's transaction) stamps
 * {@code clock_timestamp()} as the message's "written" moment, one on the processed_messages
 * insert (the consumer's transaction, which commits the effect with it) stamps its "applied"
 * moment. Both stamps leave out the same last step (the commit's WAL flush), so the difference
 * is commit to commit. They write to an unlogged side table and take no global lock (a NOTIFY
 * would: it serializes every notifying commit, and would itself slow what it measures).
 */
final class LatencyProbe implements AutoCloseable {

    private final BenchDb db;

    private LatencyProbe(BenchDb db) throws SQLException {
        this.db = db;
        db.execute("""
                CREATE UNLOGGED TABLE bench_written (id uuid PRIMARY KEY, at timestamptz NOT NULL);
                CREATE UNLOGGED TABLE bench_applied (id uuid PRIMARY KEY, at timestamptz NOT NULL, began timestamptz NOT NULL);
                CREATE FUNCTION bench_written() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO bench_written VALUES (NEW.id, clock_timestamp()) ON CONFLICT DO NOTHING; RETURN NULL; END $$;
                CREATE FUNCTION bench_applied() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO bench_applied VALUES (NEW.message_id, clock_timestamp(), transaction_timestamp()) ON CONFLICT DO NOTHING; RETURN NULL; END $$;
                CREATE UNLOGGED TABLE bench_claimed (id uuid PRIMARY KEY, at timestamptz NOT NULL, began timestamptz NOT NULL);
                CREATE FUNCTION bench_claimed() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO bench_claimed VALUES (NEW.id, clock_timestamp(), statement_timestamp()) ON CONFLICT DO NOTHING; RETURN NULL; END $$;
                CREATE TRIGGER bench_claimed AFTER UPDATE OF locked_by ON outbox
                    FOR EACH ROW WHEN (OLD.locked_by IS NULL AND NEW.locked_by IS NOT NULL) EXECUTE FUNCTION bench_claimed();
                CREATE CONSTRAINT TRIGGER bench_written AFTER INSERT ON outbox DEFERRABLE INITIALLY DEFERRED
                    FOR EACH ROW EXECUTE FUNCTION bench_written();
                CREATE CONSTRAINT TRIGGER bench_applied AFTER INSERT ON processed_messages DEFERRABLE INITIALLY DEFERRED
                    FOR EACH ROW EXECUTE FUNCTION bench_applied();
                """);
    }

    /** Installs the triggers. */
    static LatencyProbe start(BenchDb db) throws SQLException {
        return new LatencyProbe(db);
    }

    /** Counts only messages written from now on. */
    void reset() throws SQLException {
        db.execute("TRUNCATE bench_written, bench_applied, bench_claimed");
    }

    /** The latencies of the messages written since {@link #reset()} and applied by now. */
    Histogram snapshot() throws SQLException {
        Histogram micros = new Histogram(TimeUnit.MINUTES.toMicros(5), 3);
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT (extract(epoch FROM a.at - w.at) * 1000000)::bigint "
                     + "FROM bench_written w JOIN bench_applied a USING (id)")) {
            while (rs.next()) {
                micros.recordValue(Math.max(0, rs.getLong(1)));
            }
        }
        return micros;
    }

    /**
     * Where the messages slower than {@code thresholdMillis} were written: the 100 ms windows
     * holding most of them, busiest first, as "HH:MM:SS.s (n)", and how many windows hold any.
     */
    String slowWindows(double thresholdMillis, int top) throws SQLException {
        StringBuilder out = new StringBuilder();
        int windows = 0;
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(String.format(Locale.ROOT, """
                     SELECT to_char(date_trunc('second', w.at) + floor(extract(milliseconds FROM w.at)::numeric %% 1000 / 100)
                                * interval '100 ms', 'HH24:MI:SS.MS') AS win, count(*) AS n,
                            round(max(extract(epoch FROM a.at - w.at) * 1000)::numeric, 1) AS worst
                     FROM bench_written w JOIN bench_applied a USING (id)
                     WHERE a.at - w.at > %f * interval '1 millisecond'
                     GROUP BY 1 ORDER BY n DESC, win""", thresholdMillis))) {
            while (rs.next()) {
                if (windows++ < top) {
                    out.append(windows > 1 ? ", " : "").append(rs.getString("win")).append(" (")
                            .append(rs.getLong("n")).append(", worst ").append(rs.getString("worst")).append(" ms)");
                }
            }
        }
        return windows + " windows of 100 ms" + (windows == 0 ? "" : "; the busiest: " + out);
    }

    /**
     * For the messages slower than {@code thresholdMillis}, the medians of four legs: from the
     * order's commit to the start of the relay's claim statement (the commit's WAL flush, the
     * NOTIFY reaching the relay, a worker waking), the claim itself, from the claim to the start
     * of the consumer's transaction (the batch over HTTP), and that transaction up to its commit.
     * Lease claims only: a lock claim writes nothing to stamp.
     */
    String slowBreakdown(double thresholdMillis) throws SQLException {
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(String.format(Locale.ROOT, """
                     SELECT count(*) AS n,
                            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM k.began - w.at) * 1000) AS to_claim,
                            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM k.at - k.began) * 1000) AS claiming,
                            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.began - k.at) * 1000) AS to_consumer,
                            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.at - a.began) * 1000) AS applying
                     FROM bench_written w JOIN bench_applied a USING (id) JOIN bench_claimed k USING (id)
                     WHERE a.at - w.at > %f * interval '1 millisecond'""", thresholdMillis))) {
            rs.next();
            return rs.getLong("n") == 0 ? "no claim stamps"
                    : String.format(Locale.ROOT, "medians: commit → claim starts %.2f ms, claim %.2f ms, "
                                    + "claimed → consumer's transaction starts %.2f ms, consumer's transaction %.2f ms (%d messages)",
                            rs.getDouble("to_claim"), rs.getDouble("claiming"), rs.getDouble("to_consumer"),
                            rs.getDouble("applying"), rs.getLong("n"));
        }
    }

    /** Messages written since {@link #reset()} whose effect is not committed (yet). */
    long unapplied() throws SQLException {
        return db.queryLong("SELECT count(*) FROM bench_written w WHERE NOT EXISTS "
                + "(SELECT 1 FROM bench_applied a WHERE a.id = w.id)");
    }

    /** Removes the triggers and the side tables. */
    @Override
    public void close() throws SQLException {
        db.execute("""
                DROP TRIGGER IF EXISTS bench_written ON outbox;
                DROP TRIGGER IF EXISTS bench_applied ON processed_messages;
                DROP TRIGGER IF EXISTS bench_claimed ON outbox; DROP FUNCTION IF EXISTS bench_claimed();
                DROP TABLE IF EXISTS bench_claimed;
                DROP FUNCTION IF EXISTS bench_written(); DROP FUNCTION IF EXISTS bench_applied();
                DROP TABLE IF EXISTS bench_written, bench_applied;
                """);
    }
}
