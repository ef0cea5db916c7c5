package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.OutboxPoller;
import java.util.ArrayList;
import java.util.List;
import org.springframework.context.SmartLifecycle;

/**
 * Starts the pollers (the starter's, or every one of the application's own) with the application
 * context and stops them with the context, finishing the batches in flight first (up to the lease;
 * see {@link OutboxPoller#close()}); one after the other, in the reverse order of their start. The
 * health component reports these pollers, and only these: one the starter does not start is none of
 * its business.
 *
 * <p>Its phase, {@link #PHASE}, is below the web server's: the poller starts before requests are
 * taken and stops after the server's graceful shutdown has let requests in flight finish. Like
 * every lifecycle bean it stops before any bean is destroyed, so the DataSource and the publisher
 * are still open while the last batch is delivered and recorded. The stop is synchronous, so it is
 * not cut short by {@code spring.lifecycle.timeout-per-shutdown-phase}: the context waits for it.
 * A context stopped and started again (as a checkpoint and restore does) starts the poller again.
 * A context closed from the publisher, on the poller's own worker, does not wait for that worker
 * (see {@link OutboxPoller#close()}), and closes the DataSource before the worker can record its
 * batch, which is then delivered again: close it from a thread of its own.
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
            closeInReverse(running);
            throw e;
        }
        started = true;
    }

    @Override
    public void stop() {
        started = false;
        closeInReverse(pollers);
    }

    private static void closeInReverse(List<OutboxPoller> pollers) {
        for (int i = pollers.size() - 1; i >= 0; i--) {
            pollers.get(i).close();
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
