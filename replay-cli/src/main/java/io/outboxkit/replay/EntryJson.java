package io.outboxkit.replay;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.MessageEnvelope;
import io.outboxkit.core.OutboxEntry;
import java.time.Instant;

/**
 * An outbox entry as one line of JSON: the message envelope (as the relay delivers it) plus
 * {@code status}, {@code last_error}, {@code available_at} and {@code published_at}.
 */
final class EntryJson {

    private EntryJson() {
    }

    static String line(OutboxEntry entry) {
        ObjectNode node = MessageEnvelope.toJson(entry.message());
        node.put("status", entry.status().name());
        node.put("last_error", entry.lastError());
        node.put("available_at", text(entry.availableAt()));
        node.put("published_at", text(entry.publishedAt()));
        try {
            return Jsons.mapper().writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write message " + entry.message().id() + " as JSON", e);
        }
    }

    private static String text(Instant instant) {
        return instant == null ? null : instant.toString();
    }
}
