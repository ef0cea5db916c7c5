package io.outboxkit.bench;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The RabbitMQ at {@code RABBITMQ_URI} (default localhost:5672, guest/guest), used through an
 * exchange and queues of the bench's own, deleted at the end. Its ceiling is a publish loop with
 * publisher confirms (at most {@value #WINDOW} unconfirmed), persistent messages, into a durable
 * queue, as the relay's are.
 */
final class RabbitMqBenchBroker implements BenchBroker {

    private static final String URI = System.getenv().getOrDefault("RABBITMQ_URI", "amqp://guest:guest@localhost:5672/%2F");
    private static final String EXCHANGE = "bench-outbox";
    /** The relay alone's and the ceiling's exchange, with a queue that stores what they publish. */
    private static final String ALONE = "bench-alone";
    private static final int WINDOW = 1_000;

    private final Connection connection;
    private final Channel admin;

    private RabbitMqBenchBroker(Connection connection, Channel admin) {
        this.connection = connection;
        this.admin = admin;
    }

    /** Connects, and declares the relay alone's exchange and its queue. */
    static RabbitMqBenchBroker connect() throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(URI);
        Connection connection = factory.newConnection("outboxkit-bench");
        Channel admin = connection.createChannel();
        admin.exchangeDeclare(ALONE, BuiltinExchangeType.TOPIC, true);
        admin.queueDeclare(ALONE, true, false, false, null);
        admin.queueBind(ALONE, ALONE, "#");
        return new RabbitMqBenchBroker(connection, admin);
    }

    @Override
    public String name() {
        return "rabbitmq";
    }

    @Override
    public Map<String, String> env() {
        return Map.of("SINK", "rabbitmq", "SOURCE", "rabbitmq", "RABBITMQ_URI", URI, "RABBITMQ_EXCHANGE", EXCHANGE,
                "CONSUMER_NAME", CONSUMER_NAME);
    }

    @Override
    public Map<String, String> aloneEnv() {
        return Map.of("SINK", "rabbitmq", "RABBITMQ_URI", URI, "RABBITMQ_EXCHANGE", ALONE);
    }

    @Override
    public String ceilingName() {
        return "amqp-client publish loop, confirms (" + WINDOW + " in flight), persistent";
    }

    @Override
    public double ceiling(int records, int size) throws Exception {
        try (Channel channel = connection.createChannel()) {
            channel.confirmSelect();
            Semaphore window = new Semaphore(WINDOW);
            ConcurrentSkipListSet<Long> unconfirmed = new ConcurrentSkipListSet<>();
            java.util.concurrent.atomic.AtomicLong nacked = new java.util.concurrent.atomic.AtomicLong();
            channel.addConfirmListener((tag, multiple) -> settle(unconfirmed, window, tag, multiple),
                    (tag, multiple) -> nacked.addAndGet(settle(unconfirmed, window, tag, multiple)));
            AMQP.BasicProperties persistent = new AMQP.BasicProperties.Builder().deliveryMode(2)
                    .contentType("application/json").build();
            byte[] body = new byte[size];
            java.util.Arrays.fill(body, (byte) 'x');
            long start = System.nanoTime();
            for (int i = 0; i < records; i++) {
                window.acquire();
                unconfirmed.add(channel.getNextPublishSeqNo());
                channel.basicPublish(ALONE, "Order.OrderCreated", persistent, body);
            }
            if (!window.tryAcquire(WINDOW, 5, TimeUnit.MINUTES)) {
                throw new IOException("RabbitMQ did not confirm " + unconfirmed.size() + " messages within 5 minutes");
            }
            double rate = records / ((System.nanoTime() - start) / 1e9);
            if (nacked.get() > 0) {
                throw new IOException("RabbitMQ refused " + nacked.get() + " of the ceiling's messages");
            }
            admin.queuePurge(ALONE);
            return rate;
        }
    }

    /** Removes the confirmed sequence numbers and frees their places in the window; returns how many. */
    private static int settle(ConcurrentSkipListSet<Long> unconfirmed, Semaphore window, long tag, boolean multiple) {
        int settled = 0;
        if (multiple) {
            for (var head = unconfirmed.headSet(tag, true); !head.isEmpty(); ) {
                head.pollFirst();
                settled++;
            }
        } else if (unconfirmed.remove(tag)) {
            settled = 1;
        }
        window.release(settled);
        return settled;
    }

    @Override
    public void clearAlone() throws IOException {
        admin.queuePurge(ALONE);
    }

    @Override
    public void close() throws Exception {
        try {
            for (String queue : new String[] {ALONE, CONSUMER_NAME, CONSUMER_NAME + ".dead-letter"}) {
                admin.queueDelete(queue);
            }
            admin.exchangeDelete(ALONE);
            admin.exchangeDelete(EXCHANGE);
        } finally {
            connection.close();
        }
    }
}
