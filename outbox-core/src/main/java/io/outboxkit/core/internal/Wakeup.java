package io.outboxkit.core.internal;

/** A signal that ends a wait early: set by a NOTIFY, by close(), or by anything that made work due. */
public final class Wakeup {

    private boolean signalled;

    /** Ends the current or the next wait. */
    public synchronized void signal() {
        signalled = true;
        notifyAll();
    }

    /** Waits until signalled or until {@code millis} pass, then clears the signal. */
    public synchronized void await(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (!signalled) {
            long remaining = (deadline - System.nanoTime()) / 1_000_000L;
            if (remaining <= 0) {
                break;
            }
            wait(remaining);
        }
        signalled = false;
    }
}
