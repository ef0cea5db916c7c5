package io.outboxkit.consumer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.BatchReceiver;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The consumer's own meters: {@code outbox_consumer_ordering_violations_total{consumer}}, the events
 * recorded as applied out of their aggregate's order (the table only grows, so it is a counter),
 * read from the table, committed ones only, at most once a second however often it is scraped, NaN
 * while the database cannot be read; and {@code outbox_consumer_dead_letters_total{consumer,reason}}
 * ({@link #countingDeadLetters}), served at 0 by a consumer on HTTP too (only a broker source
 * dead-letters; over HTTP the relay's DEAD rows do), so that the rules and dashboards find it.
 * Thread-safe.
 */
final class ConsumerMetrics {

    private static final long MAX_AGE_NANOS = Duration.ofSeconds(1).toNanos();

    private final LoyaltyStore store;
    private long readAt;
    private double violations = Double.NaN;
    private boolean read;

    private ConsumerMetrics(LoyaltyStore store) {
        this.store = store;
    }

    /** Registers the meters in {@code registry}. */
    static void bind(MeterRegistry registry, LoyaltyStore store, String consumer) {
        ConsumerMetrics cached = new ConsumerMetrics(store);
        // The store is the observed object (Micrometer holds it weakly; the app holds it); the cache rides in the function.
        FunctionCounter.builder("outbox.consumer.ordering.violations", store, s -> cached.violations())
                .tag("consumer", consumer)
                .description("Events applied out of their aggregate's write order (recorded, status kept); 0 expected")
                .register(registry);
        deadLetters(registry, consumer, "unreadable");
        deadLetters(registry, consumer, "max_attempts");
    }

    /**
     * {@code receiver}, counting what the source dead-letters as
     * {@code outbox_consumer_dead_letters_total{consumer,reason}}: {@code reason} is
     * {@code unreadable} (not an outbox message) or {@code max_attempts} (failed that often). Both
     * series exist from the start at 0, so that an alert on their increase sees the first one.
     */
    static BatchReceiver countingDeadLetters(BatchReceiver receiver, MeterRegistry registry, String consumer) {
        Counter unreadable = deadLetters(registry, consumer, "unreadable");
        Counter maxAttempts = deadLetters(registry, consumer, "max_attempts");
        return new BatchReceiver() {
            @Override
            public Map<UUID, ? extends Exception> receive(List<OutboxMessage> batch) throws Exception {
                return receiver.receive(batch);
            }

            @Override
            public void deadLettered(OutboxMessage message, String error) {
                (message == null ? unreadable : maxAttempts).increment();
            }
        };
    }

    private static Counter deadLetters(MeterRegistry registry, String consumer, String reason) {
        return Counter.builder("outbox.consumer.dead.letters").tag("consumer", consumer).tag("reason", reason)
                .description("Messages the broker source put in its dead-letter destination: unreadable, or failed maxAttempts times")
                .register(registry);
    }

    private synchronized double violations() {
        if (!read || System.nanoTime() - readAt >= MAX_AGE_NANOS) {
            try {
                violations = store.violationCount();
            } catch (RuntimeException e) {
                violations = Double.NaN;
            }
            readAt = System.nanoTime();
            read = true;
        }
        return violations;
    }
}
