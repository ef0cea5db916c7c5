package io.outboxkit.testing;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Two close() calls at once (an application context's stop and a JVM shutdown hook, say), while a
 * receiver or publisher holds a batch: what the caller of the second close() would find the
 * moment it returns. Polls with a deadline; never sleeps for a fixed time.
 */
public final class SecondClose {

    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(5);

    private SecondClose() {
    }

    /**
     * Calls {@code close} on a thread of its own; once {@code firstUnderWay} says so, calls it again
     * on another, and once that one waits (or has returned), runs {@code release} (which lets the
     * batch go on). Returns what {@code seen} read as soon as the second close returned.
     */
    public static <T> T sees(Runnable close, BooleanSupplier firstUnderWay, Runnable release, Callable<T> seen)
            throws Exception {
        Thread first = new Thread(close, "first-close");
        first.start();
        awaitUntil(firstUnderWay, "the first close() to be under way");
        T seenThen = sees(close, release, seen);
        first.join(DEADLINE.toMillis());
        return seenThen;
    }

    /**
     * While a first close is under way (called by the test, on one of the closed thing's own
     * threads, say), calls {@code close} again on a thread of its own, and once that one waits (or
     * has returned), runs {@code release} (which lets the batch go on). Returns what {@code seen}
     * read as soon as that close returned.
     */
    public static <T> T sees(Runnable close, Runnable release, Callable<T> seen) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread second = new Thread(() -> {
            close.run();
            try {
                result.complete(seen.call());
            } catch (Exception e) {
                result.completeExceptionally(e);
            }
        }, "second-close");
        second.start();
        awaitUntil(() -> second.getState() == Thread.State.WAITING || second.getState() == Thread.State.TIMED_WAITING
                || second.getState() == Thread.State.TERMINATED, "the second close() to wait or return");
        release.run();
        return result.get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static void awaitUntil(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited " + DEADLINE + " for " + what);
            }
            LockSupport.parkNanos(POLL.toNanos());
        }
    }
}
