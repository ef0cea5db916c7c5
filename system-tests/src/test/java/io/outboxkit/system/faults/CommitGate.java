package io.outboxkit.system.faults;

import static org.awaitility.Awaitility.await;

import io.outboxkit.system.TestDatabase;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.jdbi.v3.core.Handle;

/**
 * Holds at the database the commit of one kind of write a service makes, so that a test can kill
 * the service at an exact point of its work, with no hook in the service: a deferred constraint
 * trigger on the table waits, at the writer's commit, for an advisory lock the test holds.
 *
 * <ul>
 *   <li>{@link #onPublished}: the relay's record of a delivery (an outbox row becoming PUBLISHED)
 *       waits. The broker has confirmed the message, the relay has not recorded it: kill the relay,
 *       then {@link #abortHeld()}, and the outbox never learns of the delivery.</li>
 *   <li>{@link #onProcessed}: the consumer's transaction of a batch (its processed_messages rows)
 *       waits at its commit. Kill the consumer, then {@link #open()}: the transaction commits
 *       (PostgreSQL finishes a commit whose client has gone), and the broker never got the ack that
 *       would have followed it.</li>
 * </ul>
 * {@link #close()} (or {@link #open()}) removes the trigger. Not thread-safe: one test drives it.
 */
final class CommitGate implements AutoCloseable {

    /** The first half of the advisory lock's key: marks the locks of these gates in pg_locks. */
    private static final int LOCK_CLASS = 0x5157;

    private final TestDatabase db;
    private final String table;
    private final String name;
    private final int key = ThreadLocalRandom.current().nextInt(1, Integer.MAX_VALUE);
    private final Handle holder;
    private boolean open;

    private CommitGate(TestDatabase db, String table, String when) {
        this.db = db;
        this.table = table;
        this.name = "test_commit_gate_" + key;
        this.holder = db.jdbi().open();
        try {
            holder.createQuery("SELECT pg_advisory_lock(" + LOCK_CLASS + ", " + key + ")").mapTo(String.class).one();
            holder.execute("""
                    CREATE FUNCTION %1$s() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        PERFORM pg_advisory_xact_lock_shared(%2$d, %3$d);
                        RETURN NULL;
                    END $$""".formatted(name, LOCK_CLASS, key));
            holder.execute("CREATE CONSTRAINT TRIGGER %1$s AFTER %2$s ON %3$s DEFERRABLE INITIALLY DEFERRED FOR EACH ROW %4$s"
                    .formatted(name, table.equals("outbox") ? "UPDATE" : "INSERT", table, when)
                    + " EXECUTE FUNCTION " + name + "()");
        } catch (RuntimeException e) {
            holder.close();
            throw e;
        }
    }

    /** Holds every commit that records an outbox message as PUBLISHED. */
    static CommitGate onPublished(TestDatabase db) {
        return new CommitGate(db, "outbox", "WHEN (NEW.status = 'PUBLISHED' AND OLD.status <> 'PUBLISHED')");
    }

    /** Holds every commit that records a message as processed by the consumer (not a skipped duplicate). */
    static CommitGate onProcessed(TestDatabase db) {
        return new CommitGate(db, "processed_messages", "");
    }

    /** The backend process ids of the sessions waiting at the gate now. */
    List<Integer> held() {
        return db.jdbi().withHandle(h -> h.createQuery("""
                        SELECT pid FROM pg_locks
                        WHERE locktype = 'advisory' AND NOT granted AND classid = :class AND objid = :key AND objsubid = 2""")
                .bind("class", LOCK_CLASS).bind("key", key).mapTo(Integer.class).list());
    }

    /** Waits until some session waits at the gate. */
    void awaitHeld(Duration timeout) {
        await("a commit on " + table + " waits at the gate").atMost(timeout).pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(10)).until(() -> !held().isEmpty());
    }

    /** Ends the sessions waiting at the gate: their transactions roll back, as if never sent. */
    void abortHeld() {
        List<Integer> sessions = held();
        db.jdbi().useHandle(h -> sessions.forEach(pid ->
                h.createQuery("SELECT pg_terminate_backend(:pid)").bind("pid", pid).mapTo(Boolean.class).one()));
        await("the sessions held at the gate are gone").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(20)).until(() -> held().isEmpty());
    }

    /**
     * Removes the trigger and lets the waiting transactions go on to their commit; returns once each
     * has finished it (its session idle, or gone with its killed client). Once open, the gate holds
     * nothing again.
     */
    void open() {
        if (open) {
            return;
        }
        open = true;
        try {
            List<Integer> sessions = held();
            holder.createQuery("SELECT pg_advisory_unlock(" + LOCK_CLASS + ", " + key + ")").mapTo(Boolean.class).one();
            await("the commits held at the gate went through").atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(20)).until(() -> db.jdbi().withHandle(h -> h.createQuery("""
                                    SELECT count(*) FROM pg_stat_activity
                                    WHERE pid = ANY(CAST(:pids AS int[])) AND state <> 'idle'""")
                            .bindArray("pids", Integer.class, sessions).mapTo(Long.class).one()) == 0);
            holder.execute("DROP TRIGGER " + name + " ON " + table);
            holder.execute("DROP FUNCTION " + name + "()");
        } finally {
            holder.close();
        }
    }

    @Override
    public void close() {
        open();
    }
}
