package io.outboxkit.app.http;

import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.outboxkit.app.ConfigException;
import io.outboxkit.app.ProbeSettings;
import io.outboxkit.core.spi.Causes;
import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A service's health checks as an orchestrator probes them, and its stop in the order a probe
 * needs.
 *
 * <p>With a health port ({@link ProbeSettings#healthPort()}) the checks are also served there, on a
 * connector with {@value #HEALTH_THREADS} threads of its own, and nothing else is: requests
 * waiting for the service's threads (more requests than threads, each waiting for the database
 * pool) never queue a probe behind them, so a liveness probe does not restart an overloaded but
 * working replica. On Java 17 the service's threads are platform threads, a few hundred at most,
 * which a burst of requests blocked on the pool can all hold.
 *
 * <p>{@link #stop} first makes {@code /health/ready} answer 503 {@code "stopping"} while the
 * service keeps serving for {@link ProbeSettings#shutdownDelay()} (time for a load balancer or
 * Kubernetes' endpoints to stop sending it requests), then drains: new requests are refused with
 * 503, the probes are still answered, and those in progress finish (up to
 * {@link JsonApi#STOP_TIMEOUT_MS}) before the port closes. One per server; thread-safe.
 */
public final class Probes {

    /** The readiness error of a stopping service. */
    static final String STOPPING = "stopping";

    /**
     * The health port's threads: its acceptor and selector take two, the rest answer probes, which
     * answer from memory or a cached reading and so hold a thread for moments.
     */
    static final int HEALTH_THREADS = 6;

    private static final Logger LOG = LoggerFactory.getLogger(Probes.class);

    private final ProbeSettings settings;
    private final AtomicBoolean stopCalled = new AtomicBoolean();
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();
    private volatile boolean stopping;
    private volatile ServerConnector healthConnector;

    private Probes(ProbeSettings settings) {
        this.settings = settings;
    }

    /** Probes behaving as {@code settings} say; the health port listens on the server's host. */
    public static Probes create(ProbeSettings settings) {
        return new Probes(Objects.requireNonNull(settings, "settings"));
    }

    /**
     * Declares {@code GET /health/live} answered by {@code live}, and {@code GET /health/ready}
     * and {@code GET /health} by {@code ready}, which answers 503 {@code "stopping"} first of all
     * once {@link #stop} has begun. Call it inside {@code Javalin.create}, after
     * {@link JsonApi#configure}.
     */
    public void serve(JavalinConfig config, Health live, Health ready) {
        Objects.requireNonNull(ready, "ready");
        Health.serve(config, live, ready.first(() -> !stopping, STOPPING));
        if (settings.hasHealthPort()) {
            // Javalin opens its own connector only when none is declared: the service's port comes
            // first, so that it stays the one Javalin's port() tells. Host and port are the start's.
            config.jetty.addConnector((server, http) -> {
                ServerConnector service = new ServerConnector(server, new HttpConnectionFactory(http));
                service.setHost(config.jetty.host);
                service.setPort(config.jetty.port);
                return service;
            });
            config.jetty.addConnector((server, http) -> {
                QueuedThreadPool threads = new QueuedThreadPool(HEALTH_THREADS, HEALTH_THREADS);
                threads.setName("health-port");
                ServerConnector connector = new ServerConnector(server, threads, null, null, 1, 1,
                        new HttpConnectionFactory(http)) {
                    @Override
                    public void open() throws IOException {
                        try {
                            super.open();
                        } catch (IOException e) {
                            // Else the service's start failure names PORT, the port a bind failure usually is.
                            throw new IOException(new ConfigException("HEALTH_PORT=" + settings.healthPort()
                                    + " cannot be listened on at " + getHost() + ": " + Causes.rootMessage(e)
                                    + " (set HEALTH_PORT to a free port, or leave it unset)"));
                        }
                    }
                };
                connector.setHost(config.jetty.host);
                connector.setPort(settings.healthPort());
                healthConnector = connector;
                return connector;
            });
            config.routes.before(ctx -> {
                if (isHealthPort(ctx.req().getLocalPort()) && !Health.isProbe(ctx.path())) {
                    throw ApiError.notFound("the health port serves " + Health.LIVE + ", " + Health.READY + " and "
                            + Health.PATH + " only");
                }
            });
        }
    }

    private boolean isHealthPort(int localPort) {
        ServerConnector connector = healthConnector;
        return connector != null && connector.getLocalPort() == localPort;
    }

    /** The port the health checks have to themselves once the server started, or -1 when they have none. */
    public int healthPort() {
        ServerConnector connector = healthConnector;
        return connector == null ? -1 : connector.getLocalPort();
    }

    /** Whether {@link #stop} has begun. */
    boolean isStopping() {
        return stopping;
    }

    /** As {@link #stop(Javalin, Runnable)} with nothing to do before the drain. */
    public void stop(Javalin server) {
        stop(server, () -> { });
    }

    /**
     * Stops {@code server}: readiness turns 503 {@code "stopping"}, the server keeps serving for
     * the shutdown delay, {@code beforeDrain} runs (a broker source's close, say), then requests in
     * progress finish, new ones getting 503, before the port closes. Calling it again never stops
     * anything itself (the port stays open for the first call's delay and drain): it waits for the
     * first call to be done, however long its {@code beforeDrain} takes (a broker source's close
     * may take its own 30 s), so that a caller closing the database after it never pulls it from
     * under the first call's last batch. The first call is bounded by its steps: the delay, {@code
     * beforeDrain}'s own bound, and {@link JsonApi#STOP_TIMEOUT_MS} for the drain.
     */
    public void stop(Javalin server, Runnable beforeDrain) {
        Objects.requireNonNull(server, "server");
        if (!stopCalled.compareAndSet(false, true)) {
            awaitFirstStop();
            return;
        }
        try {
            stopFirst(server, beforeDrain);
        } finally {
            stopped.complete(null);
        }
    }

    private void awaitFirstStop() {
        try {
            stopped.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("unreachable: the stop future is only ever completed normally", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void stopFirst(Javalin server, Runnable beforeDrain) {
        stopping = true;
        Duration delay = settings.shutdownDelay();
        if (!delay.isZero()) {
            LOG.info("stopping: /health/ready answers 503 for {} ms (SHUTDOWN_DELAY_MS) before the drain", delay.toMillis());
            try {
                Thread.sleep(delay.toMillis()); // the orchestrator's time to stop routing here: no event to wait on
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            beforeDrain.run();
        } finally {
            drain(server);
            server.stop();
        }
    }

    /**
     * Jetty's own graceful stop closes the port at once, refusing the very connection a probe
     * would make; shutting the graceful handler down first keeps it open until the requests in
     * progress are done.
     */
    private static void drain(Javalin server) {
        Server jetty = server.jettyServer().server();
        GracefulHandler graceful = jetty.getDescendant(GracefulHandler.class);
        if (graceful == null || !jetty.isStarted()) {
            return;
        }
        try {
            graceful.shutdown().get(JsonApi.STOP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.warn("{} request(s) still in progress after {} ms: their connections are closed",
                    graceful.getCurrentRequestCount(), JsonApi.STOP_TIMEOUT_MS);
        } catch (ExecutionException e) {
            LOG.warn("draining the requests in progress failed: {}", e.getCause().toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Drained, or waited the whole stop timeout already: Jetty need not wait again.
        jetty.setStopTimeout(0);
    }
}
