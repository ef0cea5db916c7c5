package io.outboxkit.orders;

import io.javalin.Javalin;
import io.outboxkit.app.Database;
import io.outboxkit.app.ProbeSettings;
import io.outboxkit.app.http.JsonApi;
import io.outboxkit.app.http.Probes;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxWriter;
import java.util.Objects;

/**
 * The order API's HTTP server, running over an open {@link Database}.
 *
 * <ul>
 *   <li>{@code POST /orders} {@code {"user_id": "<uuid>", "amount": 100.00}}: 201 and the order;</li>
 *   <li>{@code POST /orders/{id}/pay}, {@code POST /orders/{id}/cancel}: 200 and the order, 404 when
 *       there is no such order, 409 when its status does not allow it;</li>
 *   <li>{@code GET /orders/{id}}: 200 and the order, or 404;</li>
 *   <li>{@code GET /health/ready} and {@code GET /health}: 200 {@code {"status":"ok"}} while the
 *       database answers, or 503 {@code {"status":"unavailable","error":...}}; {@code GET /health/live}:
 *       200 while the process serves, whatever the database (see {@link io.outboxkit.app.http.Health}).</li>
 * </ul>
 * An order is {@code {"id","user_id","amount","status","created_at"}}. Each change commits with
 * its outbox event ({@code OrderCreated}, {@code OrderPaid}, {@code OrderCancelled}) in one
 * transaction. A POST with an {@code Idempotency-Key} header is done once: a retry with the same
 * key gets the first answer again; the key with another request gets 422. Client mistakes get a
 * 4xx and {@code {"error": "..."}}; request bodies over {@value #MAX_BODY_BYTES} bytes get 413;
 * while the database is unreachable requests get 503.
 *
 * <p>Thread-safe. {@link #close()} stops the server but leaves the database open: its owner
 * closes it.
 */
public final class OrderServiceApp implements AutoCloseable {

    /** The largest request body accepted: 16 KiB. */
    public static final long MAX_BODY_BYTES = 16 * 1024;

    private final Javalin javalin;
    private final Probes probes;

    private OrderServiceApp(Javalin javalin, Probes probes) {
        this.javalin = javalin;
        this.probes = probes;
    }

    /**
     * Starts serving on {@code host}:{@code port} ({@code port} 0 picks a free one, see
     * {@link #port()}); returns once the server accepts connections.
     *
     * @throws RuntimeException when the server cannot bind (for instance, the port is taken)
     */
    public static OrderServiceApp start(Database database, String host, int port) {
        return start(database, host, port, Observability.off());
    }

    /**
     * As {@link #start(Database, String, int)}, observed by {@code observability}: {@code GET /metrics}
     * with the orders and events written, every request timed, and traced as a SERVER span (so the
     * events written in it record its trace context).
     */
    public static OrderServiceApp start(Database database, String host, int port, Observability observability) {
        return start(database, OutboxNames.DEFAULT, host, port, observability, ProbeSettings.DEFAULT);
    }

    /**
     * As {@link #start(Database, String, int, Observability)}, writing its events to the outbox that
     * {@code names} name (which {@code database} must have migrated: see {@link OrderServiceMain#schema}),
     * with its health checks and its stop as {@code probeSettings} say (see {@link #healthPort()} and
     * {@link #close()}).
     */
    public static OrderServiceApp start(Database database, OutboxNames names, String host, int port,
                                        Observability observability, ProbeSettings probeSettings) {
        Objects.requireNonNull(database, "database");
        Objects.requireNonNull(names, "names");
        Objects.requireNonNull(host, "host");
        Probes probes = Probes.create(probeSettings);
        OrderMetrics metrics = new OrderMetrics(observability.registry());
        OrderRoutes routes = new OrderRoutes(new OrderService(database.dataSource(), OutboxWriter.create(names), metrics), database);
        Javalin javalin = Javalin.create(config -> {
            JsonApi.configure(config, MAX_BODY_BYTES);
            observability.configure(config);
            routes.declare(config, probes);
        });
        javalin.start(host, port);
        return new OrderServiceApp(javalin, probes);
    }

    /** The port the server listens on. */
    public int port() {
        return javalin.port();
    }

    /**
     * The port the health checks have to themselves ({@link ProbeSettings#healthPort()}, served by
     * threads of their own), or -1 when they are served on {@link #port()} only.
     */
    public int healthPort() {
        return probes.healthPort();
    }

    /**
     * Stops the server: {@code /health/ready} answers 503 {@code "stopping"} at once, requests are
     * served as before for the shutdown delay, then the requests in progress finish while new ones
     * get 503 (the health checks still answered), and the port closes (see {@link Probes#stop}).
     * Calling it again stops nothing itself: it waits for the first call to finish.
     */
    @Override
    public void close() {
        probes.stop(javalin);
    }
}
