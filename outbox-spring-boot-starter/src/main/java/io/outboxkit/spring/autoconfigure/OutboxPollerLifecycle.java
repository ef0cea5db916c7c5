package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.OutboxPoller;
import java.util.ArrayList;
import java.util.List;
import org.springframework.context.SmartLifecycle;

/**
 * Starts the pollers (the starter's, or every one of the application's own) with the application
 * context and stops them with the context, finishing the batches in flight first (up to the lease;
 * see {@link OutboxPoller#close()}). Several pollers are closed all at once, on a thread each, so
 * that every one stops claiming as the stop begins rather than once the pollers before it
 * have drained: the stop takes about one lease at most, not one per poller, and no poller claims a
 * batch it would then be cut short in. The health component reports these pollers, and only these:
 * one the starter does not start is none of its business.
 *
 * <p>Its phase, {@link #PHASE}, is below the web server's: the poller starts before requests are
 * taken and stops after the server's graceful shutdown has let requests in flight finish. Like
 * every lifecycle bean it stops before any bean is destroyed, so the DataSource and the publisher
 * are still open while the last batch is delivered and recorded. The stop is synchronous, so it is
 * not cut short by {@code spring.lifecycle.timeout-per-shutdown-phase}: the context waits for it.
 * A context stopped and started again (as a checkpoint and restore does) starts the poller again.
 * A context closed from the publisher, on the poller's own worker, does not wait for that worker
 * (see {@link OutboxPoller#close()}), and closes the DataSource before the worker can record its
 * batch, which is then delivered again: close it from a thread of its own. With several pollers
 * the more so: that poller's close may run on a thread of the stop's, which then waits for the
 * calling worker as for any other (up to the lease, then interrupts it).
 */
final class OutboxPollerLifecycle implements SmartLifecycle {

    /**
     * Below {@code WebServerGracefulShutdownLifecycle}'s and {@code WebServerStartStopLifecycle}'s
     * phases (DEFAULT_PHASE - 1024 and - 2048), so the poller outlives the requests that write.
     */
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 4096;

    private final List<OutboxPoller> pollers;
    /**
     * Started and not stopped: not {@link OutboxPoller#isRunning()}, which says false once a worker
     * has ended, and then the context would not stop the poller's other threads.
     */
    private volatile boolean started;

    OutboxPollerLifecycle(List<OutboxPoller> pollers) {
        this.pollers = List.copyOf(pollers);
    }

    /** The pollers this starts and stops, in their start order. */
    List<OutboxPoller> pollers() {
        return pollers;
    }

    /** Starts every poller; when one cannot start, those started before it are stopped again. */
    @Override
    public void start() {
        List<OutboxPoller> running = new ArrayList<>();
        try {
            for (OutboxPoller poller : pollers) {
                poller.start();
                running.add(poller);
            }
        } catch (RuntimeException e) {
            closeAll(running);
            throw e;
        }
        started = true;
    }

    @Override
    public void stop() {
        started = false;
        closeAll(pollers);
    }

    /**
     * Closes {@code pollers} in parallel and returns once every close has returned (each is bounded
     * by its poller's lease). The last is closed on the calling thread, so a single poller is closed
     * just as {@link OutboxPoller#close()} says, on a worker of its own too.
     */
    private static void closeAll(List<OutboxPoller> pollers) {
        if (pollers.isEmpty()) {
            return;
        }
        List<Thread> closers = new ArrayList<>();
        for (OutboxPoller poller : pollers.subList(0, pollers.size() - 1)) {
            Thread closer = new Thread(poller::close, "outbox-close-" + poller.name());
            closer.start();
            closers.add(closer);
        }
        pollers.get(pollers.size() - 1).close();
        boolean interrupted = false;
        for (Thread closer : closers) {
            // An interrupt does not cut the wait short: the context would close the DataSource while
            // a batch is being recorded, and that batch would be delivered again.
            while (closer.isAlive()) {
                try {
                    closer.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return started;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
