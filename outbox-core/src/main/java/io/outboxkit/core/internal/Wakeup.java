package io.outboxkit.core.internal;

/**
 * A signal that ends a wait early: set by a NOTIFY, or by a worker that left work due. Each
 * signal wakes one waiting worker, not all: a notification usually announces one transaction's
 * messages, which one claim takes; waking every worker made the others run empty claims
 * (two claims per message where one would do). {@link #release()} ends every wait for good.
 */
public final class Wakeup {

    private boolean signalled;
    private boolean released;

    /** Ends the current wait of one waiter, or the next wait. */
    public synchronized void signal() {
        signalled = true;
        notify();
    }

    /** Ends every current and future wait (the poller is closing). */
    public synchronized void release() {
        released = true;
        notifyAll();
    }

    /** Waits until signalled, released, or until {@code millis} pass, then clears the signal. */
    public synchronized void await(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (!signalled && !released) {
            long remaining = (deadline - System.nanoTime()) / 1_000_000L;
            if (remaining <= 0) {
                break;
            }
            wait(remaining);
        }
        signalled = false;
    }
}
