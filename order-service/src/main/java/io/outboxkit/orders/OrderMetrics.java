package io.outboxkit.orders;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.Map;

/**
 * What the order service wrote, counted once the transaction committed: {@code orders_placed_total} (orders created; a counter may not end in {@code _created} in Prometheus, which reserves it)
 * and {@code orders_events_written_total{event_type}} (a keyed retry given the stored answer wrote
 * nothing, and counts nothing). Every counter is registered at construction, so counting is an
 * increment, with no lookup. Thread-safe.
 */
final class OrderMetrics {

    private final Counter created;
    private final Counter createdEvents;
    private final Map<Transition, Counter> transitionEvents = new EnumMap<>(Transition.class);

    OrderMetrics(MeterRegistry registry) {
        this.created = Counter.builder("orders.placed").description("Orders created (each with its OrderCreated event)")
                .register(registry);
        this.createdEvents = event(registry, Orders.ORDER_CREATED);
        for (Transition transition : Transition.values()) {
            transitionEvents.put(transition, event(registry, transition.eventType()));
        }
    }

    /** An order and its OrderCreated event committed. */
    void orderCreated() {
        created.increment();
        createdEvents.increment();
    }

    /** A status change and its event committed. */
    void transitioned(Transition transition) {
        transitionEvents.get(transition).increment();
    }

    private static Counter event(MeterRegistry registry, String type) {
        return Counter.builder("orders.events.written").tag("event_type", type)
                .description("Outbox events written with a committed order change, by event type").register(registry);
    }
}
