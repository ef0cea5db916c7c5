package io.outboxkit.rabbitmq;

import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The machine's RabbitMQ as a test sees it through the plain client (not our classes): names of
 * the test's own, deleted at {@link #close()}, and a channel to look at queues with.
 */
final class Broker implements AutoCloseable {

    /** The broker the tests use: {@code OUTBOX_TEST_RABBITMQ_URI}, else the local one with guest/guest. */
    static final String URI = System.getenv().getOrDefault("OUTBOX_TEST_RABBITMQ_URI", "amqp://guest:guest@127.0.0.1:5672/%2F");

    private final Connection connection;
    private final List<String> exchanges = new ArrayList<>();
    private final List<String> queues = new ArrayList<>();

    Broker() throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(URI);
        factory.setAutomaticRecoveryEnabled(false);
        connection = factory.newConnection("outbox-rabbitmq tests (plain client)");
    }

    /** The largest frame the broker takes on this connection, as negotiated (every client connection gets the same). */
    int frameMax() {
        return connection.getFrameMax();
    }

    static int port() {
        return java.net.URI.create(URI).getPort();
    }

    /** A unique exchange name, deleted at close. */
    String exchange(String what) {
        String name = "outbox-test." + what + "." + UUID.randomUUID().toString().substring(0, 8);
        exchanges.add(name);
        return name;
    }

    /** A unique queue name, deleted at close together with its dead-letter queue. */
    String queue(String what) {
        String name = "outbox-test." + what + "." + UUID.randomUUID().toString().substring(0, 8);
        queues.add(name);
        queues.add(name + RabbitMqSource.DEAD_LETTER_SUFFIX);
        return name;
    }

    /** A new channel of the plain client; closed with the connection. */
    Channel channel() throws Exception {
        return connection.createChannel();
    }

    /** Declares a durable topic {@code exchange} and a queue bound to it with {@code keys}. */
    void queueBoundTo(String queue, String exchange, String... keys) throws Exception {
        queueBoundTo(queue, Map.of(), exchange, keys);
    }

    void queueBoundTo(String queue, Map<String, Object> arguments, String exchange, String... keys) throws Exception {
        try (Channel channel = channel()) {
            channel.exchangeDeclare(exchange, BuiltinExchangeType.TOPIC, true);
            channel.queueDeclare(queue, true, false, false, arguments);
            for (String key : keys) {
                channel.queueBind(queue, exchange, key);
            }
        }
    }

    /** The messages ready in {@code queue} (not those delivered and unacknowledged). */
    int ready(String queue) throws Exception {
        try (Channel channel = channel()) {
            return channel.queueDeclarePassive(queue).getMessageCount();
        }
    }

    /** Takes the next message of {@code queue}, waiting for it up to 10 seconds. */
    GetResponse take(String queue) throws Exception {
        try (Channel channel = channel()) {
            AtomicReference<GetResponse> got = new AtomicReference<>();
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> {
                got.set(channel.basicGet(queue, true));
                return got.get() != null;
            });
            return got.get();
        }
    }

    /** Takes every message ready in {@code queue} now. */
    List<GetResponse> drain(String queue) throws Exception {
        List<GetResponse> all = new ArrayList<>();
        try (Channel channel = channel()) {
            for (GetResponse got = channel.basicGet(queue, true); got != null; got = channel.basicGet(queue, true)) {
                all.add(got);
            }
        }
        return all;
    }

    /** Publishes raw bytes, as a foreign publisher would, and waits for the confirm. */
    void publishRaw(String exchange, String routingKey, AMQP.BasicProperties properties, byte[] body) throws Exception {
        try (Channel channel = channel()) {
            channel.confirmSelect();
            channel.basicPublish(exchange, routingKey, true, properties, body);
            channel.waitForConfirmsOrDie(10_000);
        }
    }

    @Override
    public void close() throws IOException, TimeoutException {
        try (Channel channel = connection.createChannel()) {
            for (String queue : queues) {
                channel.queueDelete(queue);
            }
            for (String exchange : exchanges) {
                channel.exchangeDelete(exchange);
            }
        } finally {
            connection.close();
        }
    }
}
