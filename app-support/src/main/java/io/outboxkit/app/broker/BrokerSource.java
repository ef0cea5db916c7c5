package io.outboxkit.app.broker;

import io.outboxkit.app.ConfigException;
import io.outboxkit.core.spi.BatchReceiver;
import io.outboxkit.core.spi.MessageSource;
import java.util.Objects;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consumer's source from a broker ({@link BrokerSettings#openSource()}) whose broker could not
 * be reached when the consumer started (NATS, whose client connects in its builder): the consumer
 * starts anyway, the source keeps trying to connect in the background every
 * {@value BrokerConnector#RETRY_SECONDS} seconds, and once connected it starts receiving with the
 * receiver it was started with. Until then {@link #isConnected()} is false (the consumer's
 * {@code /health} says so) and nothing is received; nothing is acknowledged either, so the broker
 * keeps every message. A refusal that will not pass by itself (credentials, a setting) still stops
 * the start with a {@link ConfigException}; one met later in the background, or a source built
 * that cannot start, ends the trying for good, and {@link #isAlive()} turns false so that the
 * consumer's {@code /health/live} asks for the restart that alone can cure it.
 *
 * <p>Thread-safe; {@link #close()} closes the module's source, or stops trying to connect.
 */
public final class BrokerSource implements MessageSource {

    private static final Logger LOG = LoggerFactory.getLogger(BrokerSource.class);

    private final String description;
    private final Object lock = new Object();
    private volatile MessageSource delegate;
    private volatile BrokerConnector<MessageSource> connector;
    private BatchReceiver receiver;
    private boolean started;
    private volatile boolean closed; // written under lock, read without it by isAlive()

    private BrokerSource(String description) {
        this.description = description;
    }

    /**
     * The source {@code build} makes now; when that fails with an error {@code retryable} accepts
     * (the broker cannot be reached), a source that goes on trying in the background instead.
     *
     * @throws ConfigException what {@code build} threw when it is not retryable
     */
    static MessageSource connecting(Broker broker, String description, Supplier<MessageSource> build,
                                    Predicate<ConfigException> retryable) {
        try {
            return build.get();
        } catch (ConfigException e) {
            if (!retryable.test(e)) {
                throw e;
            }
            BrokerSource source = new BrokerSource(description);
            source.connector = new BrokerConnector<>(broker, description, "nothing is received", e.getMessage(), build,
                    retryable, source.new Taker());
            source.connector.start();
            return source;
        }
    }

    /**
     * Remembers {@code receiver} and starts the module's source with it once connected (at once
     * when it already is).
     *
     * @throws IllegalStateException when already started or closed
     */
    @Override
    public void start(BatchReceiver receiver) {
        Objects.requireNonNull(receiver, "receiver");
        MessageSource ready;
        synchronized (lock) {
            if (started || closed) {
                throw new IllegalStateException(description + " was already " + (closed ? "closed" : "started"));
            }
            started = true;
            this.receiver = receiver;
            ready = delegate;
            if (ready != null) {
                ready.start(receiver);
            }
        }
    }

    /** Whether the module's source is connected and receiving; false while not connected yet. */
    @Override
    public boolean isConnected() {
        MessageSource current = delegate;
        return current != null && current.isConnected();
    }

    /**
     * Alive while still connecting (that goes on by design), then as the module's source is; alive
     * once closed. Not alive once the connector has ended without a source: it gave up on a refusal,
     * the source it built could not start, or its thread ended on an error. Nothing is received
     * then until the process is restarted, which is what a liveness probe's failure brings.
     * Lock-free: it waits for no connection attempt nor start.
     */
    @Override
    public boolean isAlive() {
        MessageSource current = delegate;
        if (current == null) {
            if (closed || connector.trying()) {
                return true;
            }
            current = delegate; // the connector may have handed its source over just before it ended
            if (current == null) {
                return false;
            }
        }
        return current.isAlive();
    }

    /**
     * Closes the module's source (the batch in the receiver's hands is finished first), or stops
     * connecting. Called while another close is under way, it returns once that one has ended, as
     * {@link MessageSource#close()} promises.
     */
    @Override
    public void close() {
        MessageSource current;
        boolean first;
        synchronized (lock) {
            first = !closed;
            closed = true;
            current = delegate; // set no more once closed: every close sees the same
        }
        BrokerConnector<MessageSource> trying = connector;
        if (first && trying != null) {
            trying.stop();
        }
        if (current != null) {
            // Each close closes it: the module's source makes a close under way wait for the first one.
            current.close();
        }
    }

    /** The broker, never its credentials, and whether it is still connecting. */
    @Override
    public String toString() {
        return delegate != null ? delegate.toString() : description + " (connecting)";
    }

    /** Takes the source the connector built and starts it with the receiver, unless this was closed meanwhile. */
    private final class Taker implements BrokerConnector.Owner<MessageSource> {
        @Override
        public boolean take(MessageSource built) {
            synchronized (lock) {
                if (closed) {
                    return false;
                }
                if (started) {
                    try {
                        built.start(receiver);
                    } catch (RuntimeException e) {
                        // Connected, yet it cannot receive: /health stays down and says so in the log.
                        LOG.error("{} connected but cannot receive: {}", description, e.getMessage());
                        return false; // closed by the connector
                    }
                }
                delegate = built;
                return true;
            }
        }

        @Override
        public void discard(MessageSource built) {
            try {
                built.close();
            } catch (RuntimeException e) {
                LOG.warn("closing {} failed: {}", built, e.getMessage());
            }
        }
    }
}
