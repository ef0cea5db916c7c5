package io.outboxkit.rabbitmq;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import io.outboxkit.core.spi.ShortDeadLetter;
import io.outboxkit.core.spi.Texts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeoutException;

/**
 * One connection of a source: a channel consuming the queue with manual acks and a prefetch,
 * and a channel in confirm mode for dead letters. Deliveries go into the source's inbound queue
 * tagged with this session, so that those of a lost session are told apart. Its acks and dead
 * letters are sent by the source's one thread.
 */
final class SourceSession {

    /** The longest error text carried in a dead-letter copy's header, as the Kafka source's. */
    private static final int MAX_ERROR_LENGTH = 4000;

    private final SourceOptions options;
    private final Connection connection;
    private final Channel channel;
    private final Channel deadLetters;
    private final TreeSet<Long> unacked = new TreeSet<>();
    private volatile String lostBecause;
    private volatile String returned;

    private SourceSession(SourceOptions options, Connection connection) throws IOException {
        this.options = options;
        this.connection = connection;
        this.channel = connection.createChannel();
        this.deadLetters = connection.createChannel();
    }

    /**
     * Connects, declares the exchange, the queue and its bindings and the dead-letter queue, and
     * starts consuming into {@code inbound}.
     */
    static SourceSession open(SourceOptions options, ConnectionFactory factory, BlockingQueue<Delivery> inbound)
            throws IOException, TimeoutException {
        Connection connection = factory.newConnection("outbox-rabbitmq source " + options.queue());
        try {
            SourceSession session = new SourceSession(options, connection);
            session.declareAndConsume(inbound);
            return session;
        } catch (IOException | RuntimeException e) {
            Connections.closeQuietly(connection, options.timeoutMillis());
            throw e;
        }
    }

    private void declareAndConsume(BlockingQueue<Delivery> inbound) throws IOException {
        channel.exchangeDeclare(options.exchange(), BuiltinExchangeType.TOPIC, true);
        Map<String, Object> arguments = options.singleActiveConsumer() ? Map.of("x-single-active-consumer", true) : Map.of();
        channel.queueDeclare(options.queue(), true, false, false, arguments);
        for (String key : options.bindingKeys()) {
            channel.queueBind(options.queue(), options.exchange(), key);
        }
        deadLetters.queueDeclare(options.deadLetterQueue(), true, false, false, Map.of());
        deadLetters.confirmSelect();
        deadLetters.addReturnListener(r -> returned = r.getReplyText() + " (" + r.getReplyCode() + ")");
        connection.addShutdownListener(cause -> lost(BrokerErrors.describe(cause), inbound));
        channel.addShutdownListener(cause -> lost(BrokerErrors.describe(cause), inbound));
        deadLetters.addShutdownListener(cause -> lost(BrokerErrors.describe(cause), inbound));
        channel.basicQos(options.prefetch());
        channel.basicConsume(options.queue(), false, new DefaultConsumer(channel) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body) {
                inbound.add(new Delivery(SourceSession.this, envelope, properties, body));
            }

            @Override
            public void handleCancel(String tag) {
                lost("the broker cancelled the consumer (was queue '" + options.queue() + "' deleted?)", inbound);
            }
        });
    }

    private void lost(String why, BlockingQueue<Delivery> inbound) {
        if (lostBecause == null) {
            lostBecause = why;
        }
        inbound.add(Delivery.WAKE);
    }

    /** Whether deliveries still come and acks still count. */
    boolean alive() {
        return lostBecause == null && connection.isOpen();
    }

    /** Why the session ended, or null. */
    String lostBecause() {
        return lostBecause != null ? lostBecause : connection.isOpen() ? null : "the connection closed";
    }

    /** Notes that the source took {@code delivery} in hand (unacknowledged until {@link #ack}). */
    void received(Delivery delivery) {
        unacked.add(delivery.tag());
    }

    /**
     * Acknowledges {@code tags}: with one {@code multiple} ack the longest run of them from the
     * oldest unacknowledged delivery on, one by one the rest (those behind a message still held).
     */
    void ack(List<Long> tags) throws IOException {
        if (tags.isEmpty()) {
            return;
        }
        TreeSet<Long> done = new TreeSet<>(tags);
        long upTo = 0;
        for (long tag : unacked) {
            if (!done.contains(tag)) {
                break;
            }
            upTo = tag;
        }
        if (upTo > 0) {
            channel.basicAck(upTo, true);
            unacked.headSet(upTo, true).clear();
            done.headSet(upTo, true).clear();
        }
        for (long tag : done) {
            channel.basicAck(tag, false);
            unacked.remove(tag);
        }
    }

    /**
     * Publishes a copy of {@code delivery} to the dead-letter queue (through the default
     * exchange, mandatory) with {@code error} and {@code attempts} (the receiver's failures of it)
     * as headers, and waits for the broker's confirm.
     *
     * @throws IOException when the copy was not confirmed: the original must then not be acknowledged
     */
    void deadLetter(Delivery delivery, String error, int attempts) throws IOException, InterruptedException {
        AMQP.BasicProperties original = delivery.properties() == null ? new AMQP.BasicProperties() : delivery.properties();
        String shown = Texts.abbreviate(error, MAX_ERROR_LENGTH);
        Map<String, Object> ours = deadLetterHeaders(delivery, shown, attempts);
        List<ShortDeadLetter.Header<Object>> own = new ArrayList<>();
        if (original.getHeaders() != null) {
            original.getHeaders().forEach((name, value) -> {
                if (!ours.containsKey(name)) {
                    // In characters, as AmqpMessages reads a byte[] value (UTF-8) and the outbox's text columns
                    // count it: in bytes, a readable envelope's non-ASCII aggregate_id would be dropped.
                    own.add(new ShortDeadLetter.Header<>(name, value, (value instanceof byte[] bytes
                            ? new String(bytes, StandardCharsets.UTF_8) : String.valueOf(value)).length()));
                }
            });
        }
        int frameMax = connection.getFrameMax();
        AMQP.BasicProperties[] copy = new AMQP.BasicProperties[1];
        // The client refuses a copy whose header frame is over frame_max: without a shorter one, the message would
        // come back to the queue's head at every reconnect and hold up every message behind it. The body is not
        // limited by frame_max, so every copy keeps it.
        ShortDeadLetter.Copy<Object, IOException> fits = (kept, shownError, truncated, withBody) -> {
            Map<String, Object> headers = new LinkedHashMap<>();
            kept.forEach(header -> headers.put(header.name(), header.value()));
            headers.putAll(deadLetterHeaders(delivery, shownError, attempts));
            if (truncated != null) {
                headers.put(ShortDeadLetter.TRUNCATED, truncated);
            }
            copy[0] = original.builder().headers(headers).deliveryMode(AmqpMessages.PERSISTENT).build();
            return frameMax <= 0 || copy[0].toFrame(0, delivery.body().length).size() <= frameMax;
        };
        if (!ShortDeadLetter.send(own, shown, ShortDeadLetter.error(shown), false, fits)) {
            throw new IOException("the dead-letter copy's headers are over the connection's frame_max (" + frameMax
                    + " bytes) even without the message's own headers");
        }
        returned = null;
        deadLetters.basicPublish("", options.deadLetterQueue(), true, copy[0], delivery.body());
        boolean confirmed;
        try {
            confirmed = deadLetters.waitForConfirms(options.timeout().toMillis());
        } catch (TimeoutException e) {
            throw new IOException("no confirm for the dead-letter copy within " + options.timeout().toMillis() + " ms");
        }
        if (!confirmed) {
            throw new IOException("RabbitMQ refused the dead-letter copy (basic.nack)");
        }
        String unroutable = returned;
        if (unroutable != null) {
            throw new IOException("dead-letter queue '" + options.deadLetterQueue() + "' is gone: " + unroutable);
        }
    }

    /** The headers a dead-letter copy adds to the message's own. */
    private Map<String, Object> deadLetterHeaders(Delivery delivery, String error, int attempts) {
        Map<String, Object> ours = new LinkedHashMap<>();
        ours.put(RabbitMqSource.DEAD_LETTER_ERROR_HEADER, error);
        ours.put(RabbitMqSource.DEAD_LETTER_ATTEMPTS_HEADER, Integer.toString(attempts));
        ours.put(RabbitMqSource.DEAD_LETTER_QUEUE_HEADER, options.queue());
        ours.put(RabbitMqSource.ORIGINAL_EXCHANGE_HEADER, delivery.envelope().getExchange());
        ours.put(RabbitMqSource.ORIGINAL_ROUTING_KEY_HEADER, delivery.envelope().getRoutingKey());
        return ours;
    }

    /** Closes the connection: what was not acknowledged goes back to the queue, in its place. */
    void close() {
        if (lostBecause == null) {
            lostBecause = "closed";
        }
        Connections.closeQuietly(connection, options.timeoutMillis());
    }
}
