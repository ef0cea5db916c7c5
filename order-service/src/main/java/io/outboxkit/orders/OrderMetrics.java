package io.outboxkit.orders;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the order service wrote, counted once the transaction committed: {@code orders_placed_total} (orders created; a counter may not end in {@code _created} in Prometheus, which reserves it)
 * and {@code orders_events_written_total{event_type}} (a keyed retry given the stored answer wrote
 * nothing, and counts nothing). Thread-safe.
 */
final class OrderMetrics {

    private final MeterRegistry registry;
    private final Counter created;
    private final Map<String, Counter> events = new ConcurrentHashMap<>();

    OrderMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.created = Counter.builder("orders.placed").description("Orders created (each with its OrderCreated event)")
                .register(registry);
        for (String type : new String[] {Orders.ORDER_CREATED, Transition.PAY.eventType(), Transition.CANCEL.eventType()}) {
            event(type);
        }
    }

    /** An order and its OrderCreated event committed. */
    void orderCreated() {
        created.increment();
        event(Orders.ORDER_CREATED).increment();
    }

    /** A status change and its event committed. */
    void transitioned(Transition transition) {
        event(transition.eventType()).increment();
    }

    private Counter event(String type) {
        return events.computeIfAbsent(type, t -> Counter.builder("orders.events.written").tag("event_type", t)
                .description("Outbox events written with a committed order change, by event type").register(registry));
    }
}
