package io.outboxkit.nats;

import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.ErrorListener;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.outboxkit.core.OutboxException;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;

/**
 * Opens the connection a publisher or a source uses: the servers without credentials in their
 * URLs, reconnection forever with a bounded wait, nothing buffered while disconnected (a publish
 * then fails at once instead of waiting for a server that may never come back), and the client's
 * events logged through SLF4J under the owner's name.
 */
final class NatsConnector {

    /** How often the client pings a server, so a server that stopped answering is noticed within two. */
    static final Duration PING_INTERVAL = Duration.ofSeconds(10);

    private NatsConnector() {
    }

    /**
     * Connects, trying each server once.
     *
     * @throws OutboxException naming the servers (never a password) and what the client reported
     */
    static Connection connect(String name, NatsServers servers, Duration connectTimeout, Duration reconnectWait, Logger log) {
        Options.Builder options = Options.builder()
                .servers(servers.urls().toArray(String[]::new))
                .connectionName(name)
                .connectionTimeout(connectTimeout)
                .reconnectWait(reconnectWait)
                .maxReconnects(-1)
                .reconnectBufferSize(0)
                .pingInterval(PING_INTERVAL)
                .errorListener(new Errors(name, log))
                .connectionListener(new Events(name, servers, log, new AtomicBoolean(), new AtomicBoolean()));
        if (servers.user() != null) {
            options.userInfo(servers.user(), servers.password() == null ? "" : servers.password());
        } else if (servers.token() != null) {
            options.token(servers.token().toCharArray());
        }
        try {
            return Nats.connect(options.build());
        } catch (IOException e) {
            throw new OutboxException("[" + name + "] cannot connect to NATS at " + servers + ": " + describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OutboxException("[" + name + "] interrupted while connecting to NATS at " + servers, e);
        }
    }

    /** An exception's message, its class when it has none, and the cause's when it says more. */
    static String describe(Throwable e) {
        String text = e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName() : e.getMessage();
        Throwable cause = e.getCause();
        if (cause != null && cause != e && cause.getMessage() != null && !text.contains(cause.getMessage())) {
            text = text + " (" + cause.getMessage() + ")";
        }
        return NatsServers.redact(text);
    }

    /**
     * Logs the connection's state changes at INFO, a lost connection once at WARN (each failed
     * attempt at DEBUG). A first connection that fails is the caller's error to report: its events
     * are logged at DEBUG only, so that a caller trying again every few seconds logs nothing twice.
     */
    private record Events(String name, NatsServers servers, Logger log, AtomicBoolean up, AtomicBoolean opened)
            implements ConnectionListener {

        @Override
        public void connectionEvent(Connection connection, ConnectionListener.Events event) {
            switch (event) {
                case DISCONNECTED -> {
                    if (up.getAndSet(false)) {
                        log.warn("[{}] NATS connection lost ({}); reconnecting", name, servers);
                    } else {
                        log.debug("[{}] NATS reconnection attempt failed ({})", name, servers);
                    }
                }
                case RECONNECTED -> {
                    up.set(true);
                    log.info("[{}] NATS connection reconnected ({})", name, servers);
                }
                case CONNECTED -> {
                    up.set(true);
                    opened.set(true);
                    log.info("[{}] NATS connection {} ({})", name, event.getEvent(), servers);
                }
                case CLOSED -> {
                    if (opened.get()) {
                        log.info("[{}] NATS connection {} ({})", name, event.getEvent(), servers);
                    } else {
                        log.debug("[{}] NATS connection {} before it ever opened ({})", name, event.getEvent(), servers);
                    }
                }
                default -> log.debug("[{}] NATS {}", name, event.getEvent());
            }
        }
    }

    /** The client's asynchronous errors: per-attempt reconnect failures at DEBUG, the server's errors at WARN. */
    private record Errors(String name, Logger log) implements ErrorListener {

        @Override
        public void errorOccurred(Connection connection, String error) {
            log.warn("[{}] NATS server reported: {}", name, NatsServers.redact(error));
        }

        @Override
        public void exceptionOccurred(Connection connection, Exception exception) {
            log.debug("[{}] NATS client: {}", name, describe(exception));
        }

        @Override
        public void slowConsumerDetected(Connection connection, io.nats.client.Consumer consumer) {
            log.warn("[{}] NATS client is a slow consumer: messages are being dropped on this connection", name);
        }
    }
}
