package io.outboxkit.consumer;

import io.javalin.Javalin;
import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Database;
import io.outboxkit.app.ProbeSettings;
import io.outboxkit.app.broker.Broker;
import io.outboxkit.app.broker.BrokerSettings;
import io.outboxkit.app.delivery.DeliveryProtocol;
import io.outboxkit.app.http.Health;
import io.outboxkit.app.http.JsonApi;
import io.outboxkit.app.http.Probes;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.core.IdempotentHandler;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.spi.MessageSource;
import io.outboxkit.micrometer.OutboxMetrics;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loyalty consumer's HTTP API, serving while open.
 *
 * <ul>
 *   <li>{@code POST /messages}: one message envelope (see {@link io.outboxkit.app.MessageEnvelope}),
 *       body at most {@value #MAX_BODY_BYTES} bytes; 200 {@code {"status": "processed"}} the
 *       first time, {@code "duplicate"} after; 400 for a malformed envelope, 415 without a JSON
 *       content type, 413 for a body too large, 422 for a payload that can never be applied,
 *       503 while the database is unreachable. Nothing is written unless the answer is 200.</li>
 *   <li>{@code POST /messages/batch}: {@code {"messages": [...]}} with 1 to 1,000 envelopes,
 *       processed in one transaction (what the relay sends with {@code DELIVERY=batch});
 *       200 {@code {"results": [{"id", "status", "error"?}]}} (see {@link DeliveryProtocol}).</li>
 *   <li>{@code GET /customers/{user_id}}, {@code GET /orders/{id}/status}, {@code GET /stats},
 *       {@code GET /health/ready} and {@code GET /health} (the database: see {@link Health}),
 *       {@code GET /health/live} (no database: 200 while the process serves);
 *       {@code GET /metrics} (Prometheus text) when observed with metrics on.</li>
 * </ul>
 * With a broker source ({@code SOURCE=kafka|rabbitmq|nats}) the consumer also receives from it: each
 * batch is applied as a batch request is, in one transaction, and acknowledged to the broker only
 * after that transaction committed; {@code /health/ready} then also requires the source to be
 * connected, {@code /health/live} its receiving thread to live ({@link MessageSource#isAlive()}),
 * and both name it ({@code "source": "kafka"}).
 * Each message is applied at most once per consumer name, also under concurrent redelivery.
 * Thread-safe; the HTTP server serves requests concurrently.
 */
public final class ConsumerApp implements AutoCloseable {

    /**
     * The largest request body accepted, what the relay's batches are cut to fit: room for any
     * payload {@link io.outboxkit.core.OutboxWriter} accepts with its default limit (see
     * {@link DeliveryProtocol#MAX_REQUEST_BYTES}); a larger body is answered 413.
     */
    public static final long MAX_BODY_BYTES = DeliveryProtocol.MAX_REQUEST_BYTES;

    private static final Logger LOG = LoggerFactory.getLogger(ConsumerApp.class);

    private final Javalin server;
    private final String consumerName;
    private final MessageSource source;
    private final Probes probes;

    private ConsumerApp(Javalin server, String consumerName, MessageSource source, Probes probes) {
        this.server = server;
        this.consumerName = consumerName;
        this.source = source;
        this.probes = probes;
    }

    /**
     * Starts serving on {@code host}:{@code port} (port 0 picks a free one), recording processed
     * messages under {@code consumerName}. The database stays the caller's: {@link #close()} does
     * not close it.
     *
     * @throws IllegalArgumentException when the consumer name is blank
     * @throws io.javalin.util.JavalinBindException when the port cannot be bound
     */
    public static ConsumerApp start(Database database, String consumerName, String host, int port) {
        return start(database, consumerName, host, port, Observability.off());
    }

    /**
     * As {@link #start(Database, String, String, int)}, observed by {@code observability}:
     * {@code GET /metrics} with what the idempotent handler did with each message (processed,
     * duplicate, failed, the lag from write to effect) and the ordering violations, every request
     * timed, and each message's processing a CONSUMER span continuing the producer's trace.
     */
    public static ConsumerApp start(Database database, String consumerName, String host, int port,
                                    Observability observability) {
        return start(database, consumerName, host, port, observability, null, Broker.HTTP);
    }

    /**
     * As {@link #start(Database, String, String, int, Observability)}, also receiving from
     * {@code source} (of kind {@code sourceKind}; null for HTTP only), which the app starts once its
     * server listens and closes first in {@link #close()}: each batch through the idempotent
     * handler in one transaction, PROCESSING or SKIPPING printed for each message as for HTTP. What
     * the source dead-letters is counted in {@code outbox_consumer_dead_letters_total{consumer,reason}}.
     *
     * @throws ConfigException when the source's broker refuses it (credentials, a queue of that name
     *                         with other settings): one line naming {@code SOURCE}; nothing is left running
     */
    public static ConsumerApp start(Database database, String consumerName, String host, int port,
                                    Observability observability, MessageSource source, Broker sourceKind) {
        return start(database, OutboxNames.DEFAULT, consumerName, host, port, observability, source, sourceKind,
                ProbeSettings.DEFAULT);
    }

    /**
     * As {@link #start(Database, String, String, int, Observability, MessageSource, Broker)}, recording
     * processed messages in the processed-messages table that {@code names} name (which {@code database}
     * must have migrated: see {@link ConsumerMain#schema}), with its health checks and its stop as
     * {@code probeSettings} say (see {@link #healthPort()} and {@link #close()}).
     *
     * @throws ConfigException when the source's broker refuses it (credentials, a queue of that name
     *                         with other settings): one line naming {@code SOURCE}; nothing is left running
     */
    public static ConsumerApp start(Database database, OutboxNames names, String consumerName, String host, int port,
                                    Observability observability, MessageSource source, Broker sourceKind,
                                    ProbeSettings probeSettings) {
        Objects.requireNonNull(database, "database");
        Objects.requireNonNull(names, "names");
        Objects.requireNonNull(host, "host");
        Probes probes = Probes.create(probeSettings);
        Objects.requireNonNull(sourceKind, "sourceKind");
        LoyaltyStore store = new LoyaltyStore(database.jdbi(), names);
        ParsedPayloads parsed = new ParsedPayloads();
        IdempotentHandler handler = IdempotentHandler.create(database.jdbi(), names, consumerName,
                new LoyaltyHandler(store, parsed));
        if (observability.metricsEnabled()) {
            OutboxMetrics metrics = OutboxMetrics.create();
            observability.bind(metrics);
            ConsumerMetrics.bind(observability.registry(), store, consumerName);
            handler = handler.withListener(metrics);
        }
        MessageEndpoints messages = new MessageEndpoints(handler, parsed);
        QueryEndpoints queries = new QueryEndpoints(store, consumerName, messages::duplicates);
        Javalin server = Javalin.create(config -> {
            JsonApi.configure(config, MAX_BODY_BYTES);
            observability.configure(config);
            config.routes.post("/messages", messages::single);
            config.routes.post("/messages" + DeliveryProtocol.BATCH_PATH, messages::batch);
            config.routes.get("/customers/{user_id}", queries::customer);
            config.routes.get("/orders/{id}/status", queries::orderStatus);
            config.routes.get("/stats", queries::stats);
            if (source == null) {
                probes.serve(config, Health.live(), Health.of(database));
            } else {
                probes.serve(config,
                        Health.live().with("source", sourceKind.id())
                                .and(source::isAlive, "source " + sourceKind.id() + " receiver has stopped"),
                        Health.of(database).with("source", sourceKind.id())
                                .and(source::isConnected, "source " + sourceKind.id() + " is not connected"));
            }
        }).start(host, port);
        if (probes.healthPort() >= 0) {
            LOG.info("consumer {} listening on {}:{}, health checks also on port {}", consumerName, host, server.port(),
                    probes.healthPort());
        } else {
            LOG.info("consumer {} listening on {}:{}", consumerName, host, server.port());
        }
        if (source != null) {
            try {
                source.start(ConsumerMetrics.countingDeadLetters(messages::receive, observability.registry(), consumerName));
            } catch (RuntimeException e) {
                server.stop();
                source.close();
                if (e instanceof OutboxException) { // the broker refused: one line naming the setting
                    throw new ConfigException("SOURCE=" + sourceKind.id() + ": " + BrokerSettings.redact(e.getMessage()), e);
                }
                throw e;
            }
            LOG.info("consumer {} receiving from {}", consumerName, source);
        }
        return new ConsumerApp(server, consumerName, source, probes);
    }

    /** The port the server listens on. */
    public int port() {
        return server.port();
    }

    /**
     * The port the health checks have to themselves ({@link ProbeSettings#healthPort()}, served by
     * threads of their own), or -1 when they are served on {@link #port()} only.
     */
    public int healthPort() {
        return probes.healthPort();
    }

    /** The name processed messages are recorded under. */
    public String consumerName() {
        return consumerName;
    }

    /**
     * Stops: {@code /health/ready} answers 503 {@code "stopping"} at once and everything is served
     * as before for the shutdown delay; then the broker source stops (its batch in hand is finished
     * and acknowledged), then the HTTP server (requests in progress finish while new ones get 503,
     * the health checks still answered: see {@link Probes#stop}). Calling it again, from
     * another thread say, stops nothing itself: it waits for the first call to finish, its
     * source's close included, so the database is never closed under the last batch.
     */
    @Override
    public void close() {
        probes.stop(server, () -> {
            if (source != null) {
                source.close();
            }
        });
    }
}
