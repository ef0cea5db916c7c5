package io.outboxkit.relay;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.outboxkit.app.Database;
import io.outboxkit.app.ProbeSettings;
import io.outboxkit.app.broker.Broker;
import io.outboxkit.app.broker.BrokerPublisher;
import io.outboxkit.app.http.Health;
import io.outboxkit.app.http.JsonApi;
import io.outboxkit.app.http.Probes;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxSnapshot;
import io.outboxkit.core.PollerStats;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.relay.console.Console;
import io.outboxkit.relay.console.ConsoleSettings;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's admin HTTP server: {@code GET /health/ready} and {@code GET /health} (the database,
 * then the poller, then the sink's connection, {@link MessagePublisher#isConnected()}: see
 * {@link Health}; the answer names the relay and the sink), {@code GET /health/live} (the poller's
 * threads, and a broker sink's connecting, {@link BrokerPublisher#isAlive()}; no database: 503 only
 * when a restart is the cure; open without the admin token, so its answer names nothing), {@code GET /metrics} (Prometheus text, from the
 * relay's {@link Observability}: the outbox's figures, the JVM's, the pool's and the admin
 * requests'; absent with {@code METRICS=off}), {@code GET /metrics.json} (this poller's counters
 * and the outbox's figures, as JSON), and the operations console ({@link Console}), which also
 * guards those routes. Thread-safe.
 */
final class AdminServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AdminServer.class);
    private static final long MAX_BODY_BYTES = 1024;

    private final OutboxMonitor monitor;
    private final OutboxPoller poller;
    private final Javalin server;
    private final Console console;
    /**
     * No shutdown delay, nothing routing requests to the admin port, and no health port: the admin
     * port takes no request traffic for probes to queue behind.
     */
    private final Probes probes;
    /** Set once the relay has started the poller, which it does after this server (see {@link #pollerStarted()}). */
    private volatile boolean pollerStarted;

    private AdminServer(Database database, OutboxAdmin admin, OutboxMonitor monitor, OutboxPoller poller,
                        MessagePublisher sink, Broker sinkKind, String host, int port, Observability observability,
                        ConsoleSettings access) {
        access.checkFor(host);
        this.probes = Probes.create(ProbeSettings.DEFAULT);
        this.monitor = monitor;
        this.poller = poller;
        Console[] installed = new Console[1];
        this.server = Javalin.create(config -> {
            JsonApi.configure(config, MAX_BODY_BYTES);
            observability.configure(config);
            installed[0] = Console.install(config, admin, monitor, poller.name(), poller::stats, access);
            // Live names nothing: it answers without the admin token (see Guard), so it tells only up or down.
            probes.serve(config, Health.live().and(() -> !pollerStarted || poller.isRunning(), "poller is not running")
                            .and(() -> !(sink instanceof BrokerPublisher broker) || broker.isAlive(),
                                    "sink gave up connecting"),
                    Health.of(database).with("relay", poller.name()).with("sink", sinkKind.id())
                            .and(poller::isRunning, "poller is not running")
                            .and(sink::isConnected, "sink " + sinkKind.id() + " is not connected"));
            config.routes.get("/metrics.json", this::metrics);
        });
        this.console = installed[0];
        try {
            server.start(host, port);
        } catch (RuntimeException e) {
            console.close();
            throw e;
        }
    }

    /**
     * Serves on {@code host}:{@code port} (0 picks a free port), open to those {@code access} admits;
     * the console lists and requeues through {@code admin} and reads the outbox's figures from
     * {@code monitor} (both of the poller's outbox); {@code /health} asks {@code sink} (of kind
     * {@code sinkKind}) whether it is connected.
     *
     * @throws io.outboxkit.app.ConfigException when {@code host} is not a loopback address and {@code access} has no token
     */
    static AdminServer start(Database database, OutboxAdmin admin, OutboxMonitor monitor, OutboxPoller poller,
                             MessagePublisher sink, Broker sinkKind, String host, int port, Observability observability,
                             ConsoleSettings access) {
        return new AdminServer(database, admin, monitor, poller, sink, sinkKind, host, port, observability, access);
    }

    int port() {
        return server.port();
    }

    /**
     * Tells it the poller has been started: until then {@code /health/live} answers 200 (the
     * relay is starting, which no restart would hasten), from then on as the poller runs. The
     * server starts first so that a port it cannot bind leaves no poller delivering.
     */
    void pollerStarted() {
        pollerStarted = true;
    }

    /**
     * The poller's counters ({@code claimed, delivered, failed, dead, errors, polls}) and the outbox's
     * figures as {@code /metrics} has them ({@code "outbox": {"pending", "published", "dead"}}: the
     * monitor's reading, at most a second old, published estimated; null while the database cannot
     * be read), so that however often it is asked it costs the database one reading a second.
     */
    private void metrics(Context ctx) {
        PollerStats stats = poller.stats();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("relay", poller.name());
        body.put("claimed", stats.claimed());
        body.put("delivered", stats.delivered());
        body.put("failed", stats.failed());
        body.put("dead", stats.dead());
        body.put("errors", stats.errors());
        body.put("polls", stats.polls());
        OutboxSnapshot snapshot = snapshotOrNull();
        Map<String, Long> outbox = null;
        if (snapshot != null) {
            outbox = new LinkedHashMap<>();
            outbox.put("pending", snapshot.pending());
            outbox.put("published", snapshot.publishedEstimate());
            outbox.put("dead", snapshot.dead());
        }
        body.put("outbox", outbox);
        JsonApi.respond(ctx, 200, body);
    }

    private OutboxSnapshot snapshotOrNull() {
        try {
            return monitor.snapshot();
        } catch (RuntimeException e) {
            LOG.debug("cannot read the outbox's figures: {}", e.getMessage());
            return null;
        }
    }

    /** Stops serving: requests in progress finish, with {@code /health/ready} answering 503 {@code "stopping"} meanwhile. */
    @Override
    public void close() {
        probes.stop(server);
        console.close();
    }
}
