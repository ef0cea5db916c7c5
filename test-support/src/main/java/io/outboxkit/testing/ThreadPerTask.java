package io.outboxkit.testing;

import java.util.concurrent.Executor;

/**
 * An executor that runs each task on a thread of its own, for tests that start work which blocks
 * (a poll cycle held inside its delivery, a write waiting on a lock) and must run beside the test.
 * The common pool would not do: on a 2-core machine its parallelism is 1, and since JDK 23
 * {@code CompletableFuture}'s async methods share that one worker rather than starting a thread
 * each, so two blocking tasks deadlock and a task left blocked by a failed test blocks every later
 * one. The threads are daemons: one left blocked does not keep the test JVM alive.
 */
public final class ThreadPerTask implements Executor {

    /** The one instance: it holds no state. */
    public static final ThreadPerTask INSTANCE = new ThreadPerTask();

    private ThreadPerTask() {
    }

    @Override
    public void execute(Runnable task) {
        Thread thread = new Thread(task, "test-task");
        thread.setDaemon(true);
        thread.start();
    }
}
