package io.outboxkit.system.brokers;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.outboxkit.testing.TcpProxy;
import java.io.IOException;
import java.net.URI;
import java.util.Map;

/**
 * The machine's shared RabbitMQ ({@code OUTBOX_TEST_RABBITMQ_URI}, else guest/guest on
 * 127.0.0.1:5672) for a system test, reached through a {@link TcpProxy} the test owns: an exchange
 * and a queue ({@code CONSUMER_NAME}) named for the test, deleted at {@link #close()} with the
 * queue's dead-letter queue. Down means every connection through the proxy cut and new ones
 * refused; the shared broker itself is never touched. An unreachable broker fails the test at
 * construction.
 */
public final class RabbitMqBroker implements SystemBroker {

    /** The shared broker. */
    public static final String SHARED_URI = System.getenv().getOrDefault("OUTBOX_TEST_RABBITMQ_URI",
            "amqp://guest:guest@127.0.0.1:5672/%2F");
    /** What the consumer's dead-letter queue adds to its queue's name (outbox-rabbitmq's default). */
    private static final String DEAD_LETTER_SUFFIX = ".dead-letter";

    private final String exchange = SystemBroker.uniqueName("systest.");
    private final String queue = SystemBroker.uniqueName("systest-");
    private final TcpProxy proxy;

    public RabbitMqBroker() throws Exception {
        try (Connection probe = connect()) {
            // reachable: the test's processes get it through the proxy
        }
        proxy = new TcpProxy(URI.create(SHARED_URI).getPort());
    }

    private static Connection connect() throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(SHARED_URI);
        factory.setAutomaticRecoveryEnabled(false);
        try {
            return factory.newConnection("system-tests (plain client)");
        } catch (IOException e) {
            throw new IllegalStateException("RabbitMQ at " + URI.create(SHARED_URI).getPort()
                    + " is unreachable: the system tests through RabbitMQ need it (set OUTBOX_TEST_RABBITMQ_URI)", e);
        }
    }

    @Override
    public String kind() {
        return "rabbitmq";
    }

    private String uri() {
        return proxy.uri(SHARED_URI);
    }

    @Override
    public Map<String, String> relayEnv() {
        return Map.of("SINK", kind(), "RABBITMQ_URI", uri(), "RABBITMQ_EXCHANGE", exchange);
    }

    @Override
    public Map<String, String> consumerEnv() {
        return Map.of("SOURCE", kind(), "RABBITMQ_URI", uri(), "RABBITMQ_EXCHANGE", exchange, "CONSUMER_NAME", queue);
    }

    @Override
    public void goDown() {
        proxy.cut();
    }

    @Override
    public void comeBack() {
        proxy.restore();
    }

    @Override
    public void close() throws Exception {
        proxy.close();
        try (Connection connection = connect(); Channel channel = connection.createChannel()) {
            channel.queueDelete(queue);
            channel.queueDelete(queue + DEAD_LETTER_SUFFIX);
            channel.exchangeDelete(exchange);
        }
    }

    @Override
    public String toString() {
        return "RabbitMQ through 127.0.0.1:" + proxy.port() + " exchange " + exchange + " queue " + queue;
    }
}
