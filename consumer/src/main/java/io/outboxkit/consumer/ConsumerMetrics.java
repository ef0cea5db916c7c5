package io.outboxkit.consumer;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;

/**
 * The consumer's own meter: {@code outbox_consumer_ordering_violations_total{consumer}}, the events
 * recorded as applied out of their aggregate's order (the table only grows, so it is a counter).
 * Read from the table, committed ones only, at most once a second however often it is scraped;
 * NaN while the database cannot be read. Thread-safe.
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

    /** Registers the meter in {@code registry}. */
    static void bind(MeterRegistry registry, LoyaltyStore store, String consumer) {
        ConsumerMetrics cached = new ConsumerMetrics(store);
        // The store is the observed object (Micrometer holds it weakly; the app holds it); the cache rides in the function.
        FunctionCounter.builder("outbox.consumer.ordering.violations", store, s -> cached.violations())
                .tag("consumer", consumer)
                .description("Events applied out of their aggregate's write order (recorded, status kept); 0 expected")
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
