package io.outboxkit.core.spi;

import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.CountDownLatch;

/**
 * The close of something whose threads finish a batch before they end (a {@link MessageSource},
 * a poller's run), called perhaps from two threads at once (an application context's stop and a
 * JVM shutdown hook, say): the first close stops the threads; a close called meanwhile waits until
 * that stop has ended, and until the thread that ran it has ended when that is one of the threads
 * (a worker or receiver that closed what it runs in, which cannot wait for itself), bounded as the
 * stop is, so that its caller too goes on (closes the pool, exits) only once the batch is
 * acknowledged or recorded. A stop run on a worker ({@link #byWorker()}) waits only for the other
 * threads, and that worker releases, once its batch is done, what the stop would have released
 * after waiting for it. One instance per thing closed; thread-safe.
 */
public final class Closing {

    private final CountDownLatch ended = new CountDownLatch(1);
    /** The thread that ran the first close; null until then, or when nothing was to stop. */
    private volatile Thread closer;
    /** Whether the first close ran on one of the workers it was given. */
    private volatile boolean byWorker;

    /**
     * When {@code first} (the caller's close is the first), runs {@code stop} and then marks the
     * close ended, even if it throws. Otherwise returns once the first close has ended and, when
     * that close ran on one of {@code workers} (whose stop does not wait for its own thread), once
     * that worker has ended too or {@code bound} has passed; at once on one of {@code workers},
     * since the first close waits for those threads (it would wait for itself).
     */
    public void close(boolean first, Collection<Thread> workers, Duration bound, Runnable stop) {
        if (!first) {
            awaitEnd(workers, bound);
            return;
        }
        closer = Thread.currentThread();
        byWorker = workers.contains(closer);
        try {
            stop.run();
        } finally {
            ended.countDown();
        }
    }

    /**
     * Whether the first close ran on one of its {@code workers} (a receiver that closed its own
     * source, say); false before a first close. Its stop then must not wait for that thread (it
     * would wait for itself, then interrupt itself), and that thread, once its loop has ended after
     * the batch in hand, releases what the stop would have released after waiting for it.
     */
    public boolean byWorker() {
        return byWorker;
    }

    /** Marks the close ended without a stop: nothing runs (a start that failed, say), so a close has nothing to wait for. */
    public void ended() {
        ended.countDown();
    }

    private void awaitEnd(Collection<Thread> workers, Duration bound) {
        if (workers.contains(Thread.currentThread())) {
            return;
        }
        try {
            ended.await();
            if (byWorker && bound.toMillis() > 0) {
                closer.join(bound.toMillis()); // join(0) would wait for ever
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
