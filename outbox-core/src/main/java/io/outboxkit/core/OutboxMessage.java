package io.outboxkit.core;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * A message as the outbox delivers it: what was written plus the identity the outbox gave it; the
 * payload is the same JSON value as written, in PostgreSQL's {@code jsonb} text form (see
 * {@link NewMessage}). Immutable and thread-safe.
 *
 * @param id            unique across services (a UUIDv7); the key consumers deduplicate on
 * @param sequence      the write order in the outbox; within one aggregate, a later message has a
 *                      larger sequence, so a consumer can detect out-of-order delivery
 * @param aggregateType the kind of entity the event is about
 * @param aggregateId   which entity
 * @param eventType     what happened
 * @param payload       the event, as JSON text: the value written, as {@code jsonb} prints it
 * @param headers       extra string metadata
 * @param createdAt     when the message was written (the producer's commit follows closely)
 * @param attempts      how many deliveries have been started, this one included (0 when unknown)
 */
public record OutboxMessage(UUID id, long sequence, String aggregateType, String aggregateId, String eventType,
                            String payload, Map<String, String> headers, Instant createdAt, int attempts) {

    /** Requires every reference field; copies the headers. */
    public OutboxMessage {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(aggregateType, "aggregateType");
        Objects.requireNonNull(aggregateId, "aggregateId");
        Objects.requireNonNull(eventType, "eventType");
        Objects.requireNonNull(payload, "payload");
        headers = Map.copyOf(Objects.requireNonNull(headers, "headers"));
        Objects.requireNonNull(createdAt, "createdAt");
    }

    /** This message with {@code headers} in place of its own (as a poller hands it on with a trace context). */
    public OutboxMessage withHeaders(Map<String, String> headers) {
        return new OutboxMessage(id, sequence, aggregateType, aggregateId, eventType, payload, headers, createdAt, attempts);
    }
}
