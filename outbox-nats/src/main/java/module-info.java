/**
 * outbox-nats: NATS JetStream for outbox-core. Exports {@code io.outboxkit.nats}: {@code NatsPublisher}
 * (a {@code MessagePublisher} onto a stream) and {@code NatsSource} (a {@code MessageSource} from a
 * durable pull consumer); everything else in it is package-private.
 */
module io.outboxkit.nats {
    requires transitive io.outboxkit.core;
    requires io.nats.jnats;
    requires org.slf4j;

    exports io.outboxkit.nats;
}
