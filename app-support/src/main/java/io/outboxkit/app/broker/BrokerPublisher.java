package io.outboxkit.app.broker;

import io.outboxkit.app.ConfigException;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.core.spi.PublishException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's publisher to a broker ({@link BrokerSettings#openPublisher}): the broker module's
 * publisher, with one addition. A broker that cannot be reached when the relay starts (NATS, whose
 * client connects in its builder) does not stop the relay: the publisher keeps trying to connect
 * in the background, every {@value #RETRY_SECONDS} seconds, and until it is connected every batch
 * fails at once with a line saying so (retried by the poller with backoff, like any delivery to a
 * broker that is down) and {@link #isConnected()} is false. A refusal that will not pass by
 * itself (credentials, a setting) still stops the start with a {@link ConfigException}; one met
 * later in the background ends the trying for good, and {@link #isAlive()} turns false so that the
 * relay's {@code /health/live} asks for the restart that alone can cure it.
 *
 * <p>Thread-safe; {@link #close()} closes the module's publisher, or stops trying to connect.
 */
public final class BrokerPublisher implements MessagePublisher, AutoCloseable {

    /** The wait between two attempts to connect, while the broker cannot be reached: 2 seconds. */
    public static final int RETRY_SECONDS = BrokerConnector.RETRY_SECONDS;

    private static final Logger LOG = LoggerFactory.getLogger(BrokerPublisher.class);

    private final Broker broker;
    private final String description;
    private final Object lock = new Object();
    private volatile MessagePublisher delegate;
    private volatile boolean closed;
    private volatile BrokerConnector<MessagePublisher> connector;

    private BrokerPublisher(Broker broker, String description, MessagePublisher delegate) {
        this.broker = broker;
        this.description = description;
        this.delegate = delegate;
    }

    /** Wraps a publisher already built. */
    static BrokerPublisher connected(Broker broker, String description, MessagePublisher publisher) {
        return new BrokerPublisher(broker, description, Objects.requireNonNull(publisher, "publisher"));
    }

    /**
     * Builds the publisher with {@code build} now; when that fails with an error {@code retryable}
     * accepts (the broker cannot be reached), goes on trying in the background instead of failing.
     *
     * @throws ConfigException what {@code build} threw when it is not retryable
     */
    static BrokerPublisher connecting(Broker broker, String description, Supplier<MessagePublisher> build,
                                      Predicate<ConfigException> retryable) {
        try {
            return connected(broker, description, build.get());
        } catch (ConfigException e) {
            if (!retryable.test(e)) {
                throw e;
            }
            BrokerPublisher publisher = new BrokerPublisher(broker, description, null);
            publisher.connector = new BrokerConnector<>(broker, description, "deliveries fail", e.getMessage(), build,
                    retryable, publisher.new Taker());
            publisher.connector.start();
            return publisher;
        }
    }

    /** Takes the publisher the connector built, unless this was closed meanwhile. */
    private final class Taker implements BrokerConnector.Owner<MessagePublisher> {
        @Override
        public boolean take(MessagePublisher built) {
            synchronized (lock) {
                if (closed) {
                    return false;
                }
                delegate = built;
                return true;
            }
        }

        @Override
        public void discard(MessagePublisher built) {
            closeQuietly(built);
        }
    }

    /** The module's publisher, or null while not connected yet. */
    MessagePublisher delegate() {
        return delegate;
    }

    @Override
    public void publish(OutboxMessage message) throws Exception {
        MessagePublisher current = delegate;
        if (current == null) {
            throw notConnected();
        }
        current.publish(message);
    }

    /** The module's {@code publishAll}; while not connected, every message fails at once saying why. */
    @Override
    public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
        MessagePublisher current = delegate;
        if (current != null) {
            return current.publishAll(batch);
        }
        PublishException failure = notConnected();
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        for (OutboxMessage message : batch) {
            failures.put(message.id(), failure);
        }
        return failures;
    }

    private PublishException notConnected() {
        return new PublishException(FailureReason.UNAVAILABLE, broker.id() + " not connected yet: "
                + (connector != null ? connector.notConnectedBecause() : "no connection"));
    }

    /** Whether the broker's connection is up (the module's own check); false while not connected yet. */
    @Override
    public boolean isConnected() {
        MessagePublisher current = delegate;
        return current != null && current.isConnected();
    }

    /**
     * Whether the publisher can still come to deliver, for a liveness check: true while connected
     * (the module's client reconnects by itself), while still connecting in the background, and once
     * closed; false once the connector has ended without a publisher (it gave up on a refusal met in
     * the background, or its thread ended on an error), when every batch fails until the process is
     * restarted. Lock-free: it waits for no connection attempt.
     */
    public boolean isAlive() {
        if (delegate != null || closed) {
            return true;
        }
        BrokerConnector<MessagePublisher> current = connector;
        // the connector may have handed its publisher over just before it ended
        return current == null || current.trying() || delegate != null;
    }

    @Override
    public String messagingSystem() {
        MessagePublisher current = delegate;
        return current != null ? current.messagingSystem() : broker.id();
    }

    @Override
    public String operationName() {
        MessagePublisher current = delegate;
        return current != null ? current.operationName() : broker == Broker.KAFKA ? "send" : "publish";
    }

    @Override
    public String destinationName(OutboxMessage message) {
        MessagePublisher current = delegate;
        return current != null ? current.destinationName(message) : MessagePublisher.super.destinationName(message);
    }

    /** The broker, never its credentials. */
    @Override
    public String toString() {
        return description;
    }

    /** Closes the module's publisher (its messages in flight count as not delivered), or stops connecting. */
    @Override
    public void close() {
        BrokerConnector<MessagePublisher> stopping;
        MessagePublisher current;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            stopping = connector;
            current = delegate;
        }
        if (stopping != null) {
            stopping.stop();
        }
        if (current != null) {
            closeQuietly(current);
        }
    }

    private static void closeQuietly(MessagePublisher publisher) {
        if (publisher instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                LOG.warn("closing {} failed: {}", publisher, e.getMessage());
            }
        }
    }
}
