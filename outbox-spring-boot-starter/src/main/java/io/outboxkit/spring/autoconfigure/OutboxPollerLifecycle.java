package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.OutboxPoller;
import org.springframework.context.SmartLifecycle;

/**
 * Starts the poller with the application context and stops it with the context, finishing the
 * batches in flight first (up to the lease; see {@link OutboxPoller#close()}).
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

    private final OutboxPoller poller;
    /**
     * Started and not stopped: not {@link OutboxPoller#isRunning()}, which says false once a worker
     * has ended, and then the context would not stop the poller's other threads.
     */
    private volatile boolean started;

    OutboxPollerLifecycle(OutboxPoller poller) {
        this.poller = poller;
    }

    @Override
    public void start() {
        poller.start();
        started = true;
    }

    @Override
    public void stop() {
        started = false;
        poller.close();
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
