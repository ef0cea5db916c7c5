package io.outboxkit.bench;

import java.util.Map;
import java.util.OptionalDouble;

/**
 * A broker the phases "kafka", "rabbitmq" and "nats" measure the relay and the consumer through,
 * under names of the bench's own (a {@code bench} prefix), removed by {@link #close()}.
 */
interface BenchBroker extends AutoCloseable {

    /** The consumer group, queue or durable consumer of the bench's consumer. */
    String CONSUMER_NAME = "bench-loyalty";

    /** The broker's name, as {@code SINK} and {@code SOURCE} spell it. */
    String name();

    /** The settings of the relay and the consumer of the end-to-end drain: {@code SINK}, {@code SOURCE} and the broker's. */
    Map<String, String> env();

    /**
     * The relay's settings for its drain alone: where its messages are stored as in {@link #env()}
     * but no consumer of the bench will read them.
     */
    Map<String, String> aloneEnv();

    /** What {@link #ceiling} runs, for the report. */
    String ceilingName();

    /**
     * The broker's own producer sending {@code records} messages of {@code size} bytes, each
     * confirmed by the broker as the relay's are (stored, persistent); returns messages per second.
     */
    double ceiling(int records, int size) throws Exception;

    /** The CPU seconds the broker's own process has used so far, when the bench started it; else empty. */
    default OptionalDouble cpuSeconds() {
        return OptionalDouble.empty();
    }

    /** Removes what the relay alone and the ceiling published, before the end-to-end drain. */
    void clearAlone() throws Exception;

    /** Stops what the bench started and deletes what it created. */
    @Override
    void close() throws Exception;
}
