package io.outboxkit.system.brokers;

import java.util.Map;

/**
 * A broker a {@link io.outboxkit.system.RunningSystem} runs through, with names of the test's own
 * (exchange, queue, stream, consumer, topics), so that runs never collide with each other or with
 * other users of a shared broker. The relay gets {@link #relayEnv()} ({@code SINK} and the broker's
 * settings), the consumer {@link #consumerEnv()} ({@code SOURCE}, the same settings and {@code
 * CONSUMER_NAME}). {@link #close()} removes what the test created on a shared broker and stops a
 * private one.
 */
public interface SystemBroker extends AutoCloseable {

    /** {@code kafka}, {@code rabbitmq} or {@code nats}: the relay's {@code SINK} and the consumer's {@code SOURCE}. */
    String kind();

    /** The relay's settings: {@code SINK} and where and under which names to publish. */
    Map<String, String> relayEnv();

    /** The consumer's settings: {@code SOURCE}, where and under which names to read, {@code CONSUMER_NAME}. */
    Map<String, String> consumerEnv();

    /**
     * Makes the broker unreachable for the relay and the consumer (stopped, killed or cut off),
     * without touching a broker other users share.
     *
     * @throws UnsupportedOperationException for a broker the test does not own
     */
    void goDown() throws Exception;

    /** Makes it reachable again after {@link #goDown()}, with what it had stored. */
    void comeBack() throws Exception;

    /**
     * Whether the broker itself drops a message the relay publishes again (NATS JetStream, by the
     * {@code Nats-Msg-Id} header within its duplicate window): then the consumer never sees the copy.
     */
    default boolean dropsRepublished() {
        return false;
    }

    /** A name no other run uses: {@code prefix} and random hex digits. */
    static String uniqueName(String prefix) {
        return prefix + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong() & 0xFFFFFFFFFFL);
    }
}
