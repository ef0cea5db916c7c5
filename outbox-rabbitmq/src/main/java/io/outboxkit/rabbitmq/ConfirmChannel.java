package io.outboxkit.rabbitmq;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmListener;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ReturnListener;
import com.rabbitmq.client.ShutdownListener;
import com.rabbitmq.client.ShutdownSignalException;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.FailureReason;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * A channel in confirm mode and its publishes that await the broker's answer, each under the
 * sequence number the broker will confirm it by. One batch at a time publishes on it; the broker's
 * answers arrive on the connection's thread.
 *
 * <p>An unroutable message comes back as a {@code basic.return} and is then confirmed all the
 * same (the broker sends the return first), so the return is remembered by message id and turns
 * the confirm that follows into a failure. Once the channel closes (a channel error, a lost
 * connection) every publish still awaited fails with the reason, and the channel is never used
 * again, not even after the client reopened it on a recovered connection: its sequence numbers
 * start again there.
 */
final class ConfirmChannel implements ConfirmListener, ReturnListener, ShutdownListener {

    private final Channel channel;
    private final String exchange;
    private final ConcurrentNavigableMap<Long, Awaited> awaited = new ConcurrentSkipListMap<>();
    private final Map<String, String> returned = new ConcurrentHashMap<>();
    private volatile Broken broken;

    private record Awaited(OutboxMessage message, BatchConfirms batch) {
    }

    /** Why the channel cannot be used, and what kind of failure that makes of a message not sent on it. */
    record Broken(FailureReason reason, String why) {
    }

    private ConfirmChannel(Channel channel, String exchange) {
        this.channel = channel;
        this.exchange = exchange;
    }

    /**
     * A new channel on {@code connection} in confirm mode, with {@code exchange} declared (a
     * durable topic exchange; declaring it again heals one deleted meanwhile).
     */
    static ConfirmChannel open(Connection connection, String exchange) throws IOException {
        Channel channel = connection.createChannel();
        if (channel == null) {
            throw new IOException("RabbitMQ has no channel left on this connection (channel_max reached)");
        }
        try {
            channel.confirmSelect();
            channel.exchangeDeclare(exchange, BuiltinExchangeType.TOPIC, true);
        } catch (IOException | RuntimeException e) {
            channel.abort();
            throw e;
        }
        ConfirmChannel confirms = new ConfirmChannel(channel, exchange);
        channel.addConfirmListener(confirms);
        channel.addReturnListener(confirms);
        channel.addShutdownListener(confirms);
        return confirms;
    }

    /** Whether a batch may publish on this channel. */
    boolean usable() {
        return broken == null && channel.isOpen();
    }

    /** Why the channel cannot be used, or null. */
    Broken broken() {
        return broken;
    }

    /** Publishes {@code outgoing} mandatory, its outcome to be settled in {@code batch}. */
    void publish(OutboxMessage message, AmqpMessages.Outgoing outgoing, BatchConfirms batch) throws IOException {
        long sequence = channel.getNextPublishSeqNo();
        awaited.put(sequence, new Awaited(message, batch));
        try {
            channel.basicPublish(exchange, outgoing.routingKey(), true, outgoing.properties(), outgoing.body());
        } catch (IOException | RuntimeException e) {
            awaited.remove(sequence);
            // The client counted the publish before it failed, so later sequence numbers may no longer match.
            broken = new Broken(BrokerErrors.reason(e), "a publish failed on it: " + BrokerErrors.describe(e));
            throw e;
        }
    }

    /** Stops waiting for {@code batch}'s publishes and retires the channel, since late answers may still come. */
    void abandon(BatchConfirms batch, String why) {
        awaited.values().removeIf(a -> a.batch() == batch);
        broken = new Broken(FailureReason.TIMEOUT, why);
    }

    /** Closes the channel, ignoring that it may be closed already. */
    void close() {
        try {
            channel.abort();
        } catch (RuntimeException | IOException e) {
            // closing is best effort: the connection's end closes it anyway
        }
    }

    @Override
    public void handleAck(long sequence, boolean multiple) {
        settle(sequence, multiple, null);
    }

    @Override
    public void handleNack(long sequence, boolean multiple) {
        settle(sequence, multiple, "RabbitMQ refused the message (basic.nack): a queue it routes to refused it "
                + "(x-overflow=reject-publish on a full queue) or the broker could not store it");
    }

    private void settle(long sequence, boolean multiple, String refusal) {
        if (!multiple) {
            settle(awaited.remove(sequence), refusal);
            return;
        }
        for (Map.Entry<Long, Awaited> first = awaited.firstEntry(); first != null && first.getKey() <= sequence;
                first = awaited.firstEntry()) {
            settle(awaited.remove(first.getKey()), refusal);
        }
    }

    private void settle(Awaited publish, String refusal) {
        if (publish == null) {
            return; // a batch that gave up on it
        }
        String unroutable = returned.remove(publish.message().id().toString());
        if (refusal != null) {
            publish.batch().failed(publish.message(), FailureReason.REFUSED, refusal);
        } else if (unroutable != null) {
            publish.batch().failed(publish.message(), FailureReason.REFUSED, unroutable);
        } else {
            publish.batch().confirmed(publish.message());
        }
    }

    @Override
    public void handleReturn(int replyCode, String replyText, String exchange, String routingKey,
                             AMQP.BasicProperties properties, byte[] body) {
        if (properties.getMessageId() != null) {
            returned.put(properties.getMessageId(), "unroutable: no queue is bound to exchange '" + exchange
                    + "' for routing key '" + routingKey + "' (" + replyText + " " + replyCode + "); bind a queue "
                    + "for it (a consumer's source does), or fix the aggregate or event type");
        }
    }

    @Override
    public void shutdownCompleted(ShutdownSignalException cause) {
        String why = BrokerErrors.describe(cause);
        // A hard error is the connection's end (the broker out of reach); a channel closed alone is
        // the broker refusing something sent on it (a CC header of the wrong type, say).
        FailureReason reason = cause.isHardError() ? FailureReason.UNAVAILABLE : FailureReason.REFUSED;
        broken = new Broken(reason, "the channel closed: " + why);
        for (Map.Entry<Long, Awaited> first = awaited.pollFirstEntry(); first != null; first = awaited.pollFirstEntry()) {
            first.getValue().batch().failed(first.getValue().message(), reason,
                    "the channel closed before RabbitMQ confirmed the message: " + why);
        }
        returned.clear();
    }
}
