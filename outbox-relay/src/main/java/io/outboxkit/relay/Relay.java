package io.outboxkit.relay;

import io.outboxkit.app.Database;
import io.outboxkit.app.RetentionTask;
import io.outboxkit.app.broker.Broker;
import io.outboxkit.app.delivery.HttpPublisher;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxRetention;
import io.outboxkit.core.PollerStats;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.micrometer.OutboxMetrics;
import io.outboxkit.relay.console.ConsoleSettings;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running relay: an {@link OutboxPoller} delivering the outbox to its sink (see
 * {@link RelayConfig}): the consumer over HTTP, or a broker ({@code SINK=kafka|rabbitmq|nats}, see
 * {@link io.outboxkit.app.broker.BrokerSettings}); an admin HTTP server, whose {@code /health/ready}
 * also reports the sink's connection ({@code /health/live} only the poller's threads); and outbox
 * retention on a daemon thread.
 *
 * <p>Delivery is at least once: a message is PUBLISHED only after the consumer answered that it
 * took it (see {@link io.outboxkit.app.delivery.HttpPublisher}), or the broker confirmed it; anything else (a broker that is down included) is retried with backoff
 * until {@code maxAttempts}, then the message is DEAD.
 * Several relays may share one database; give each a distinct name. {@link #close()} lets the
 * requests already sent finish and records the batch in flight before it stops. Thread-safe.
 */
public final class Relay implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Relay.class);

    private final OutboxPoller poller;
    private final MessagePublisher publisher;
    private final AdminServer admin;
    private final RetentionTask retention;

    private Relay(OutboxPoller poller, MessagePublisher publisher, AdminServer admin, RetentionTask retention) {
        this.poller = poller;
        this.publisher = publisher;
        this.admin = admin;
        this.retention = retention;
    }

    /**
     * Starts delivering from {@code database}'s outbox, the admin server on
     * {@code config.service().host()}:{@code config.service().port()}, and retention. The database stays the
     * caller's: {@link #close()} does not close it. The pool needs a connection held by the
     * poller's LISTEN, plus one for each worker, retention and the admin server; and it must wait
     * for statements of {@code config.statementTimeout()} (open it with that longest statement, as
     * {@link RelayMain} does), or a claim that runs long fails as an I/O error before PostgreSQL
     * cancels it.
     *
     * @throws io.javalin.util.JavalinBindException when the admin port cannot be bound (nothing is left running)
     * @throws io.outboxkit.app.ConfigException      when the admin host is not a loopback address: that needs a
     *                                               token, given by {@link #start(Database, RelayConfig, Observability, ConsoleSettings)}
     */
    public static Relay start(Database database, RelayConfig config) {
        return start(database, config, Observability.off(), ConsoleSettings.noToken());
    }

    /**
     * As {@link #start(Database, RelayConfig)}, observed by {@code observability} (the admin port's
     * {@code GET /metrics} with the outbox's figures: the poller's events, and the gauges of an
     * {@link OutboxMonitor}; each delivery a PRODUCER span when tracing is on), with the admin port
     * and its console open only to those {@code access} admits (see {@link ConsoleSettings}).
     *
     * @throws io.javalin.util.JavalinBindException when the admin port cannot be bound (nothing is left running)
     * @throws io.outboxkit.app.ConfigException      when the admin host is not a loopback address and
     *                                               {@code access} has no token (nothing is left running)
     * @throws Error                                 what starting the poller's or retention's threads threw
     *                                               (no native thread left, say): the poller, the admin
     *                                               server and the sink's client are closed first
     */
    public static Relay start(Database database, RelayConfig config, Observability observability,
                              ConsoleSettings access) {
        Objects.requireNonNull(database, "database");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(observability, "observability");
        Objects.requireNonNull(access, "access");
        MessagePublisher publisher = publisher(config);
        OutboxPoller.Builder builder = OutboxPoller.builder(database.jdbi(), publisher)
                .names(config.names())
                .claimMode(config.claimMode())
                .deleteOnPublish(config.deleteOnPublish())
                .batchSize(config.batchSize())
                .workers(config.workers())
                .pollInterval(config.pollInterval())
                .lease(config.lease())
                .statementTimeout(config.statementTimeout())
                .maxAttempts(config.maxAttempts())
                .backoff(config.initialBackoff(), config.maxBackoff())
                .orderedByAggregate(config.ordered())
                .deadMessagesBlockAggregate(config.deadBlocksAggregate());
        if (config.relayName() != null) {
            builder.name(config.relayName());
        }
        // One reading a second of the outbox's figures, whoever asks: metrics, the console, /metrics.json.
        OutboxMonitor monitor = OutboxMonitor.create(database.jdbi(), config.names());
        if (observability.metricsEnabled()) {
            OutboxMetrics metrics = OutboxMetrics.withMonitor(monitor);
            observability.bind(metrics);
            builder.addListener(metrics);
        }
        OutboxPoller poller = builder.build();
        OutboxRetention outboxRetention = OutboxRetention.builder(database.jdbi())
                .names(config.names())
                .publishedRetention(config.publishedRetention())
                .dedupWindow(config.dedupWindow())
                .vacuum(config.retentionVacuum())
                .build();
        AdminServer admin;
        try {
            admin = AdminServer.start(database, OutboxAdmin.create(database.jdbi(), config.names()), monitor, poller,
                    publisher, config.sink().broker(), config.service().host(), config.service().port(), observability,
                    access);
        } catch (RuntimeException e) {
            close(publisher);
            throw e;
        }
        RetentionTask retention;
        try {
            poller.start();
            admin.pollerStarted();
            retention = RetentionTask.start(poller.name(), config.retentionInterval(), outboxRetention);
        } catch (Throwable e) {
            // An Error too (no native thread left, say): else the admin port would answer live for good
            // and keep the process from exiting, with nothing delivering.
            closeAfterFailedStart(e, poller, admin, () -> close(publisher));
            throw e;
        }
        if (config.sink().broker() == Broker.HTTP) {
            LOG.info("[{}] relaying to {} ({} delivery); admin on {}:{}", poller.name(), config.consumerUrl(),
                    config.delivery().name().toLowerCase(java.util.Locale.ROOT), config.service().host(), admin.port());
        } else {
            LOG.info("[{}] relaying to {}; admin on {}:{}", poller.name(), config.sink().describe(),
                    config.service().host(), admin.port());
        }
        return new Relay(poller, publisher, admin, retention);
    }

    /** The poller's name: the lease owner on the messages it claims. */
    public String name() {
        return poller.name();
    }

    /** The delivery counters since start. */
    public PollerStats stats() {
        return poller.stats();
    }

    /** The port the admin server listens on. */
    public int adminPort() {
        return admin.port();
    }

    /** Whether the poller is delivering: {@link OutboxPoller#isRunning()}. */
    public boolean isRunning() {
        return poller.isRunning();
    }

    /**
     * Stops: first the poller (the batch in flight is recorded once the requests already sent have
     * ended, each within {@code HTTP_TIMEOUT_MS}; over HTTP, those not yet sent are not sent but
     * given back without spending an attempt, see {@link HttpPublisher#stopSending()}), while
     * retention stops between its batches (it is resumable: the next start deletes the rest); then
     * the admin server and the sink's client. Calling it again does nothing.
     */
    @Override
    public void close() {
        if (publisher instanceof HttpPublisher http) {
            // Before the poller's close waits for the batch in flight: else its queued requests
            // would be sent round after round, up to the lease, past any orchestrator's grace period.
            http.stopSending();
        }
        retention.stop(); // at once, not after the poller's wait: its run need not finish
        poller.close();
        retention.close();
        admin.close();
        close(publisher);
    }

    /** The sink's publisher: the consumer over HTTP (the default), or the broker {@code SINK} names. */
    private static MessagePublisher publisher(RelayConfig config) {
        if (config.sink().broker() != Broker.HTTP) {
            return config.sink().openPublisher(config.names());
        }
        return HttpPublisher.builder(config.consumerUrl())
                .delivery(config.delivery())
                .timeout(config.httpTimeout())
                .lease(config.lease())
                .maxInFlight(config.maxInFlight())
                .build();
    }

    /** Closes each of {@code started}, in order; what a close throws is added to {@code failure}. */
    private static void closeAfterFailedStart(Throwable failure, AutoCloseable... started) {
        for (AutoCloseable part : started) {
            try {
                part.close();
            } catch (Throwable e) {
                failure.addSuppressed(e);
            }
        }
    }

    private static void close(MessagePublisher publisher) {
        if (publisher instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                LOG.warn("closing the sink {} failed: {}", publisher, e.getMessage());
            }
        }
    }
}
