package io.outboxkit.core;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;

/**
 * A lock another session holds: {@link #take()} runs a locking statement in a transaction of its
 * own, on a thread of its own, and returns once the lock is held; {@link #close()} ends that
 * transaction. For tests of what waits on such a lock (a row an operator holds, a VACUUM blocked).
 */
final class HeldLock implements AutoCloseable {

    private final Jdbi jdbi;
    private final String sql;
    private final Object[] args;
    private final CountDownLatch held = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private Thread holder;

    private HeldLock(Jdbi jdbi, String sql, Object... args) {
        this.jdbi = jdbi;
        this.sql = sql;
        this.args = args;
    }

    /** A lock {@code sql} (with {@code args}) takes once {@link #take()}n; not taken yet. */
    static HeldLock of(Jdbi jdbi, String sql, Object... args) {
        return new HeldLock(jdbi, sql, args);
    }

    /** Takes the lock and returns once it is held (within 10 s, else it throws). */
    HeldLock take() throws InterruptedException {
        holder = new Thread(() -> jdbi.useTransaction(h -> {
            h.execute(sql, args);
            held.countDown();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }), "held-lock");
        holder.start();
        if (!held.await(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the lock was not taken within 10 s: " + sql);
        }
        return this;
    }

    /** Whether the lock is still held (its transaction still open). */
    boolean isHeld() {
        return holder != null && holder.isAlive();
    }

    /** Ends the holding transaction and waits for it; nothing when the lock was never taken. */
    @Override
    public void close() throws InterruptedException {
        release.countDown();
        if (holder != null) {
            holder.join();
        }
    }
}
