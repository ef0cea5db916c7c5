package io.outboxkit.rabbitmq;

import io.outboxkit.core.OutboxMessage;

/**
 * A delivered outbox message that is not yet acknowledged: in a batch, waiting for a retry, or
 * waiting behind an earlier message of its aggregate. Used by the source's one thread only.
 */
final class Held {

    final Delivery delivery;
    final OutboxMessage message;
    final Lanes.Key key;
    /** The hand-overs to the receiver so far, a batch it threw on included: what the message's attempts tell it. */
    int deliveries;
    /**
     * The times the receiver failed this message itself (listed it as failed), which count toward
     * maxAttempts; a batch it threw on says nothing about any one message and does not count.
     */
    int failures;
    /** Not to be handed to the receiver before this {@link System#nanoTime()}. */
    long notBefore;
    /** Why the receiver failed it last. */
    String lastError;

    Held(Delivery delivery, OutboxMessage message) {
        this.delivery = delivery;
        this.message = message;
        this.key = new Lanes.Key(message.aggregateType(), message.aggregateId());
        this.notBefore = System.nanoTime();
    }

    /** The message as handed to the receiver for the next delivery, which this counts. */
    OutboxMessage nextDelivery() {
        deliveries++;
        OutboxMessage m = message;
        return new OutboxMessage(m.id(), m.sequence(), m.aggregateType(), m.aggregateId(), m.eventType(), m.payload(),
                m.headers(), m.createdAt(), deliveries);
    }
}
