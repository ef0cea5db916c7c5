package io.outboxkit.rabbitmq;

import io.outboxkit.core.OutboxMessage;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/** Outbox messages as the poller hands them over, for tests. */
final class Messages {

    private static final AtomicLong SEQUENCE = new AtomicLong(1000);

    private Messages() {
    }

    /** A message of {@code aggregateType}/{@code aggregateId}, with a sequence larger than any before. */
    static OutboxMessage message(String aggregateType, String aggregateId, String eventType) {
        return message(aggregateType, aggregateId, eventType, "{\"n\":" + SEQUENCE.get() + "}");
    }

    static OutboxMessage message(String aggregateType, String aggregateId, String eventType, String payload) {
        return message(aggregateType, aggregateId, eventType, payload, Map.of());
    }

    static OutboxMessage message(String aggregateType, String aggregateId, String eventType, String payload,
                                 Map<String, String> headers) {
        return new OutboxMessage(UUID.randomUUID(), SEQUENCE.incrementAndGet(), aggregateType, aggregateId, eventType,
                payload, headers, Instant.now().truncatedTo(ChronoUnit.MICROS), 1);
    }

    /** {@code count} Order messages, each of an aggregate of its own. */
    static List<OutboxMessage> orders(int count) {
        List<OutboxMessage> batch = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            batch.add(message("Order", UUID.randomUUID().toString(), "OrderCreated"));
        }
        return batch;
    }
}
