package io.outboxkit.replay;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * What replay-cli does when it is stopped (Ctrl-C, SIGTERM), as the JVM's shutdown hook: cancels
 * the database work of the command running, so that none of it runs on in the server after the
 * process has gone, and waits a moment for the command to print what it did. Thread-safe.
 */
final class Shutdown {

    /** How long a stopping process waits for its command to print what it did, once cancelled. */
    static final Duration REPORT_WAIT = Duration.ofSeconds(2);

    private final Set<Runnable> cancels = ConcurrentHashMap.newKeySet();
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile boolean stopping;

    /**
     * Runs {@code cancel} if the process is stopped, until {@link #cancelled(Runnable)} with it; at
     * once when the stop already began (Ctrl-C while the database was being opened, say).
     */
    void cancelOnStop(Runnable cancel) {
        cancels.add(cancel);
        // Added before reading the flag, which stop() sets before reading the set: one of the two runs it.
        if (stopping) {
            cancel.run();
        }
    }

    /** Whether the process is stopping: a command that has not begun its work must not begin it. */
    boolean stopping() {
        return stopping;
    }

    /** No longer runs {@code cancel} at a stop: its work ended. */
    void cancelled(Runnable cancel) {
        cancels.remove(cancel);
    }

    /** The command has returned and printed what it did. */
    void finished() {
        finished.countDown();
    }

    /** Cancels the work registered, then waits up to {@link #REPORT_WAIT} for the command to have finished. */
    void stop() {
        stopping = true;
        cancels.forEach(Runnable::run);
        try {
            finished.await(REPORT_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
