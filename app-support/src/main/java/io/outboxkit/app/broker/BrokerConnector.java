package io.outboxkit.app.broker;

import io.outboxkit.app.ConfigException;
import io.outboxkit.core.spi.Causes;
import java.io.IOException;
import java.time.Duration;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a broker's client in the background while the broker cannot be reached: the relay's
 * publisher and the consumer's source when their broker was down at start. It tries every
 * {@value #RETRY_SECONDS} seconds on a daemon thread of its own, and hands the first client built
 * to its owner. It stops then, at a refusal that will not pass by itself (credentials, a setting:
 * logged as an error), at an unexpected error of the build (logged with its stack trace), or when
 * {@link #stop() stopped}; {@link #trying()} tells. Thread-safe.
 *
 * @param <T> the client: a publisher or a source
 */
final class BrokerConnector<T> {

    /** The wait between two attempts to connect: 2 seconds. */
    static final int RETRY_SECONDS = 2;

    private static final Logger LOG = LoggerFactory.getLogger(BrokerConnector.class);

    /** The owner's side: takes the client built, or refuses it (and closes it) when the owner was closed meanwhile. */
    interface Owner<T> {
        /** Takes {@code client}; false when the owner no longer wants it. */
        boolean take(T client);

        /** Closes a client the owner did not take. */
        void discard(T client);
    }

    private final String description;
    private final String untilThen;
    private final Supplier<T> build;
    private final Predicate<ConfigException> retryable;
    private final Owner<T> owner;
    private final Thread thread;
    private volatile String notConnectedBecause;

    /**
     * @param description the broker and where it is, safe to log
     * @param untilThen   what fails until a client is built, for the log ("deliveries fail")
     * @param firstError  why the first attempt, made by the owner, failed
     */
    BrokerConnector(Broker broker, String description, String untilThen, String firstError, Supplier<T> build,
                    Predicate<ConfigException> retryable, Owner<T> owner) {
        this.description = description;
        this.untilThen = untilThen;
        this.notConnectedBecause = firstError;
        this.build = build;
        this.retryable = retryable;
        this.owner = owner;
        this.thread = new Thread(this::run, "broker-connect-" + broker.id());
        thread.setDaemon(true);
    }

    /** Whether a failed build (the owner's first attempt, or one of these) is one that may pass by itself: the broker could not be reached. */
    static boolean unreachable(ConfigException e) {
        boolean network = false;
        for (Throwable t : Causes.chain(e.getCause())) {
            if (t instanceof io.nats.client.AuthenticationException) {
                return false;
            }
            network |= t instanceof IOException;
        }
        return network;
    }

    /** Starts trying, after logging once that the broker cannot be reached now. */
    void start() {
        LOG.warn("{} cannot be reached now ({}); trying again every {} s, {} until then", description, notConnectedBecause,
                RETRY_SECONDS, untilThen);
        thread.start();
    }

    /** Stops trying; a client being built is discarded by its owner. */
    void stop() {
        thread.interrupt();
    }

    /**
     * Whether it is still trying: true from construction until it has handed a client to its owner,
     * given up on a refusal, been stopped, or its thread ended on an unexpected error. Lock-free.
     */
    boolean trying() {
        return thread.getState() != Thread.State.TERMINATED;
    }

    /** What the last attempt reported: why the broker is not connected yet. */
    String notConnectedBecause() {
        return notConnectedBecause;
    }

    private void run() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(Duration.ofSeconds(RETRY_SECONDS).toMillis());
            } catch (InterruptedException e) {
                return;
            }
            T built;
            try {
                built = build.get();
            } catch (ConfigException e) {
                if (Thread.currentThread().isInterrupted()) {
                    return; // stopped while connecting: not a refusal
                }
                notConnectedBecause = e.getMessage();
                if (!retryable.test(e)) {
                    LOG.error("{} refused the connection; {} until the process is restarted with other settings: {}",
                            description, untilThen, e.getMessage());
                    return;
                }
                LOG.debug("{} still cannot be reached: {}", description, e.getMessage());
                continue;
            } catch (RuntimeException e) {
                // A fault of the module's builder, not of the broker: another attempt would meet it again.
                notConnectedBecause = e.toString();
                LOG.error("{} could not be built; {} until the process is restarted", description, untilThen, e);
                return;
            }
            if (owner.take(built)) {
                LOG.info("{} connected", description);
            } else {
                owner.discard(built);
            }
            return;
        }
    }
}
