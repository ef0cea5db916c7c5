package io.outboxkit.core;

import io.outboxkit.core.spi.TransportHeaders;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A message to write to the outbox: an event about one aggregate.
 *
 * <p>Messages of one aggregate (same type and id) are delivered in the order they were written
 * when the poller keeps order (its default). Immutable and thread-safe.
 *
 * <p>The three names are checked as every reader of a delivered message checks them (a broker
 * source, the consumer's HTTP endpoint: {@link TransportHeaders#read}): not blank and at most
 * {@value TransportHeaders#MAX_NAME_LENGTH} characters, so that a message that could not be
 * applied anywhere is refused when it is written, not after it was delivered.
 *
 * <p>No field, header name or header value may hold what PostgreSQL cannot store as given: a NUL
 * character, or a lone UTF-16 surrogate (half of a character, as left by cutting a string inside an
 * emoji), which has no UTF-8 form and would be stored as '?'. So the names, the headers and the
 * payload's strings delivered are always those written.
 *
 * <p>The payload is stored as {@code jsonb} and delivered as the same JSON value in the text form
 * PostgreSQL gives it, not as the text written: keys in {@code jsonb}'s order (shorter first), of a
 * duplicate key only the last value, a space after each {@code :} and {@code ,} and none elsewhere,
 * numbers and escapes spelt as {@code jsonb} spells them ({@code 1e2} as {@code 100},
 * <code>"&#92;u00e9"</code> as {@code "é"}); a string's content is kept. A consumer that checks a
 * signature over the payload should sign a canonical form it can compute again from the value (such
 * as RFC 8785's), or sign text carried in a string field (or a header) rather than the payload's
 * text.
 *
 * @param aggregateType the kind of entity the event is about, e.g. {@code "Order"}
 * @param aggregateId   which entity, e.g. the order's id; with the type, the ordering key
 * @param eventType     what happened, e.g. {@code "OrderCreated"}
 * @param payload       the event as JSON text, serialized by the application (with its own JSON
 *                      library and settings); PostgreSQL checks it when it is written, and a payload
 *                      that is not JSON fails that write
 * @param headers       extra string metadata carried to the consumer (trace ids, ...); may be empty;
 *                      a name may not be one the envelope uses on a broker
 *                      ({@link io.outboxkit.core.spi.TransportHeaders#RESERVED})
 */
public record NewMessage(String aggregateType, String aggregateId, String eventType, String payload,
                         Map<String, String> headers) {

    /**
     * Checks every field but the payload's JSON (PostgreSQL checks that); a bad one is refused with
     * an {@link IllegalArgumentException} naming it. Each field is read once for what PostgreSQL
     * cannot store, the payload too.
     */
    public NewMessage {
        requireName("aggregateType", aggregateType);
        requireName("aggregateId", aggregateId);
        requireName("eventType", eventType);
        requireText("payload", payload);
        requireStorable("payload", payload);
        headers = Map.copyOf(Objects.requireNonNull(headers, "headers must not be null (use an empty map)"));
        headers.forEach((name, value) -> {
            requireHeaderName(name);
            requireStorable("header " + name, value);
        });
    }

    /** A message with no headers. */
    public static NewMessage of(String aggregateType, String aggregateId, String eventType, String payload) {
        return new NewMessage(aggregateType, aggregateId, eventType, payload, Map.of());
    }

    /** This message with one more header (replacing a header of the same name). */
    public NewMessage withHeader(String name, String value) {
        requireHeaderName(name);
        Objects.requireNonNull(value, "header value must not be null");
        requireStorable("header " + name, value);
        Map<String, String> more = new LinkedHashMap<>(headers);
        more.put(name, value);
        return new NewMessage(aggregateType, aggregateId, eventType, payload, more);
    }

    private static void requireHeaderName(String name) {
        requireText("header name", name);
        requireStorable("header name", name);
        if (TransportHeaders.RESERVED.contains(name)) {
            throw new IllegalArgumentException("header name " + name + " is reserved: a broker message carries the "
                    + "envelope under it (" + String.join(", ", new java.util.TreeSet<>(TransportHeaders.RESERVED)) + ")");
        }
    }

    private static void requireName(String name, String value) {
        requireText(name, value);
        if (value.length() > TransportHeaders.MAX_NAME_LENGTH) {
            throw new IllegalArgumentException(name + " must be at most " + TransportHeaders.MAX_NAME_LENGTH
                    + " characters (every reader of a delivered message refuses a longer one), was " + value.length());
        }
        requireStorable(name, value);
    }

    private static void requireText(String name, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(name + " must not be blank");
        }
    }

    private static void requireStorable(String name, String value) {
        String refusal = StorableText.refusal(name, value);
        if (refusal != null) {
            throw new IllegalArgumentException(refusal);
        }
    }
}
