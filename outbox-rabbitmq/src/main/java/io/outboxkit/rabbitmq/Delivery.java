package io.outboxkit.rabbitmq;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Envelope;

/**
 * One message as the broker delivered it to a source's session. Its delivery tag means something
 * only on that session's channel.
 */
record Delivery(SourceSession session, Envelope envelope, AMQP.BasicProperties properties, byte[] body) {

    /** Not a delivery: wakes the source's thread (to stop, or to notice a lost session). */
    static final Delivery WAKE = new Delivery(null, null, null, null);

    long tag() {
        return envelope.getDeliveryTag();
    }
}
