package io.outboxkit.consumer;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.core.OutboxMessage;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Payloads that {@code POST /messages} and {@code POST /messages/batch} already parsed while
 * reading the envelopes, handed to the {@link LoyaltyHandler} so that it does not parse each
 * payload's text a second time. An entry counts only for the very message object it was
 * registered with (its payload text, compared by identity): a redelivery of the same id in a
 * concurrent request, or twice in one batch, gets nothing from it and is parsed from its own text.
 * Thread-safe.
 */
final class ParsedPayloads {

    private record Entry(String text, JsonNode payload) {
    }

    private final ConcurrentHashMap<UUID, Entry> entries = new ConcurrentHashMap<>();

    /** Registers {@code payload} as what {@code message}'s payload text parses to, until {@link #forget}. */
    void put(OutboxMessage message, JsonNode payload) {
        entries.put(message.id(), new Entry(message.payload(), payload));
    }

    /** The payload registered for this very message object, or null when there is none. */
    JsonNode get(OutboxMessage message) {
        Entry entry = entries.get(message.id());
        return entry != null && entry.text() == message.payload() ? entry.payload() : null;
    }

    /** Removes what was registered for these message objects (and nothing registered for others). */
    void forget(List<OutboxMessage> messages) {
        for (OutboxMessage message : messages) {
            entries.computeIfPresent(message.id(), (id, entry) -> entry.text() == message.payload() ? null : entry);
        }
    }
}
