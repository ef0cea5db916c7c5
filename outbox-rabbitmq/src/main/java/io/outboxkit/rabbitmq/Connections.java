package io.outboxkit.rabbitmq;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.impl.ForgivingExceptionHandler;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The client's settings that the publisher and the source share. */
final class Connections {

    /**
     * The heartbeat asked of the broker: a peer that went silent (a cable pulled, a frozen
     * network) is noticed within about two of them.
     */
    static final int HEARTBEAT_SECONDS = 20;

    private static final Logger LOG = LoggerFactory.getLogger(Connections.class);

    private Connections() {
    }

    /**
     * A factory for {@code uri} whose every wait (connect, handshake, a channel's request) is
     * bounded by {@code timeout}; with {@code recoveryInterval} not null, a lost connection is
     * opened again that often by the client itself.
     */
    static ConnectionFactory factory(AmqpUri uri, Duration timeout, Duration recoveryInterval) {
        ConnectionFactory factory = new ConnectionFactory();
        uri.applyTo(factory);
        int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        factory.setConnectionTimeout(millis);
        factory.setHandshakeTimeout(millis);
        factory.setChannelRpcTimeout(millis);
        factory.setShutdownTimeout(millis);
        factory.setRequestedHeartbeat(HEARTBEAT_SECONDS);
        factory.setAutomaticRecoveryEnabled(recoveryInterval != null);
        // Whoever needs the exchange or a queue declares it on each new channel or session, which also
        // heals one deleted meanwhile; the client's own replay of declarations would be a second way.
        factory.setTopologyRecoveryEnabled(false);
        if (recoveryInterval != null) {
            factory.setNetworkRecoveryInterval(recoveryInterval.toMillis());
        }
        factory.setExceptionHandler(new QuietExceptionHandler());
        return factory;
    }

    /** Closes {@code connection}, ignoring that it may be closed or broken already. */
    static void closeQuietly(Connection connection, int timeoutMillis) {
        if (connection != null) {
            connection.abort(timeoutMillis);
        }
    }

    /**
     * Logs what the client reports in one line without a stack trace; a lost connection and each
     * failed try to reopen it at DEBUG only, since the publisher and the source report the loss and
     * the return in their own words, once each.
     */
    private static final class QuietExceptionHandler extends ForgivingExceptionHandler {
        @Override
        public void handleUnexpectedConnectionDriverException(Connection connection, Throwable exception) {
            LOG.debug("connection {} failed: {}", connection, BrokerErrors.describe(exception));
        }

        @Override
        public void handleConnectionRecoveryException(Connection connection, Throwable exception) {
            LOG.debug("reopening connection {} failed: {}", connection, BrokerErrors.describe(exception));
        }

        @Override
        protected void log(String message, Throwable e) {
            LOG.warn("{}: {}", message, BrokerErrors.describe(e));
        }
    }
}
