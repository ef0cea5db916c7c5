package io.outboxkit.replay;

import io.outboxkit.app.MessageEnvelope;
import io.outboxkit.core.OutboxEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An outbox entry as one line of JSON: the message envelope (as the relay delivers it) plus
 * {@code status}, {@code last_error}, {@code available_at} and {@code published_at}. The payload is
 * copied as the database gives it, never parsed, so that any payload the outbox holds is listed;
 * {@code jsonb}'s text form has no line breaks, so the line stays one line.
 */
final class EntryJson {

    private EntryJson() {
    }

    /** {@code entry} as one line of JSON, without the line break. */
    static String line(OutboxEntry entry) {
        Map<String, String> more = new LinkedHashMap<>();
        more.put("status", entry.status().name());
        more.put("last_error", entry.lastError());
        more.put("available_at", text(entry.availableAt()));
        more.put("published_at", text(entry.publishedAt()));
        try {
            return new String(MessageEnvelope.toBytes(entry.message(), more), StandardCharsets.UTF_8);
        } catch (IOException e) {
            // written into memory: not expected
            throw new UncheckedIOException("cannot write message " + entry.message().id() + " as JSON", e);
        }
    }

    private static String text(Instant instant) {
        return instant == null ? null : instant.toString();
    }
}
