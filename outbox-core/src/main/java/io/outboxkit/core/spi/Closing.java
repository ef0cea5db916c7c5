package io.outboxkit.core.spi;

import java.util.Collection;
import java.util.concurrent.CountDownLatch;

/**
 * The close of something whose threads finish a batch before they end (a {@link MessageSource},
 * a poller's run), called perhaps from two threads at once (an application context's stop and a
 * JVM shutdown hook, say): the first close stops the threads; a close called meanwhile waits until
 * that stop has ended, bounded as the stop is, so that its caller too goes on (closes the pool,
 * exits) only once the batch is acknowledged or recorded. One instance per thing closed; thread-safe.
 */
public final class Closing {

    private final CountDownLatch ended = new CountDownLatch(1);

    /**
     * When {@code first} (the caller's close is the first), runs {@code stop} and then marks the
     * close ended, even if it throws. Otherwise returns once the first close has ended; at once on
     * one of {@code workers}, since the first close waits for those threads (it would wait for itself).
     */
    public void close(boolean first, Collection<Thread> workers, Runnable stop) {
        if (!first) {
            awaitEnd(workers);
            return;
        }
        try {
            stop.run();
        } finally {
            ended.countDown();
        }
    }

    /** Marks the close ended without a stop: nothing runs (a start that failed, say), so a close has nothing to wait for. */
    public void ended() {
        ended.countDown();
    }

    private void awaitEnd(Collection<Thread> workers) {
        if (workers.contains(Thread.currentThread())) {
            return;
        }
        try {
            ended.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
