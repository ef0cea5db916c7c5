package io.outboxkit.bench;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
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
                CREATE UNLOGGED TABLE bench_applied (id uuid PRIMARY KEY, at timestamptz NOT NULL);
                CREATE FUNCTION bench_written() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO bench_written VALUES (NEW.id, clock_timestamp()) ON CONFLICT DO NOTHING; RETURN NULL; END $$;
                CREATE FUNCTION bench_applied() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO bench_applied VALUES (NEW.message_id, clock_timestamp()) ON CONFLICT DO NOTHING; RETURN NULL; END $$;
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
        db.execute("TRUNCATE bench_written, bench_applied");
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
                DROP FUNCTION IF EXISTS bench_written(); DROP FUNCTION IF EXISTS bench_applied();
                DROP TABLE IF EXISTS bench_written, bench_applied;
                """);
    }
}
