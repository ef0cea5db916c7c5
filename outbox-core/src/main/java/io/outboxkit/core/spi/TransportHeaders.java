package io.outboxkit.core.spi;

import io.outboxkit.core.OutboxMessage;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * How a message's envelope travels as the string headers of a broker message (Kafka record
 * headers, AMQP headers, NATS headers), the payload being the message body: the names, the
 * writing, and the checked reading on the receiving side. Every publisher and every receiving
 * side uses this one mapping, so a message published through one transport reads the same
 * through any other. Stateless and thread-safe.
 *
 * <p>The message's own headers travel beside these; their names may not be one of
 * {@link #RESERVED}, which {@link io.outboxkit.core.NewMessage} refuses.
 */
public final class TransportHeaders {

    /**
     * The W3C trace context a message's own headers may carry (written by {@link
     * io.outboxkit.core.OutboxWriter} and the relay): observability data, so a transport that cannot
     * carry such a value (a stored one, from a client, malformed) drops it rather than fail the message.
     */
    public static final String TRACEPARENT = "traceparent";
    /** The vendor part of the W3C trace context; see {@link #TRACEPARENT}. */
    public static final String TRACESTATE = "tracestate";

    /** Whether {@code name} is a header of the trace context ({@link #TRACEPARENT}, {@link #TRACESTATE}). */
    public static boolean isTraceContext(String name) {
        return TRACEPARENT.equals(name) || TRACESTATE.equals(name);
    }

    /**
     * {@code text} in printable ASCII: every other character (controls, line breaks, anything past
     * ASCII) written as a Java-style escape, a backslash, {@code u} and four hex digits. For a header
     * value or a stored text where the transport, or the database's encoding, takes only ASCII.
     */
    public static String ascii(String text) {
        StringBuilder out = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x20 && c < 0x7F) {
                out.append(c);
            } else {
                out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            }
        }
        return out.toString();
    }

    /** The message id, a UUID: the key a consumer deduplicates on (Debezium's outbox router's name). */
    public static final String ID = "id";
    /** The write order in the outbox, a whole number: a consumer detects out-of-order delivery with it. */
    public static final String SEQUENCE = "sequence";
    /** The kind of entity the event is about. */
    public static final String AGGREGATE_TYPE = "aggregate_type";
    /** Which entity: the ordering key. */
    public static final String AGGREGATE_ID = "aggregate_id";
    /** What happened. */
    public static final String EVENT_TYPE = "event_type";
    /** When the message was written, ISO-8601 ({@code 2026-12-03T10:15:30.123456Z}). */
    public static final String CREATED_AT = "created_at";

    /** The names of the envelope's headers, which a message's own headers may not use. */
    public static final Set<String> RESERVED = Set.of(ID, SEQUENCE, AGGREGATE_TYPE, AGGREGATE_ID, EVENT_TYPE, CREATED_AT);

    /** The longest aggregate type, aggregate id or event type read back. */
    public static final int MAX_NAME_LENGTH = 200;

    private TransportHeaders() {
    }

    /** The envelope's headers of {@code message}, followed by the message's own headers, in that order. */
    public static Map<String, String> write(OutboxMessage message) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put(ID, message.id().toString());
        headers.put(SEQUENCE, Long.toString(message.sequence()));
        headers.put(AGGREGATE_TYPE, message.aggregateType());
        headers.put(AGGREGATE_ID, message.aggregateId());
        headers.put(EVENT_TYPE, message.eventType());
        headers.put(CREATED_AT, message.createdAt().toString());
        message.headers().forEach(headers::putIfAbsent);
        return headers;
    }

    /**
     * The message that {@code headers} and {@code payload} carry, checked: the id a canonical UUID,
     * the sequence a whole number of 0 or more, the names non-blank and at most
     * {@value #MAX_NAME_LENGTH} characters, the time ISO-8601. Headers other than the envelope's
     * become the message's own. {@code attempts} is 0 (not carried).
     *
     * @throws IllegalArgumentException naming the header that is missing or wrong, for a
     *                                  message that must not be applied
     */
    public static OutboxMessage read(Map<String, String> headers, String payload) {
        if (payload == null) {
            throw new IllegalArgumentException("the message has no body");
        }
        UUID id = uuid(required(headers, ID));
        long sequence = sequence(required(headers, SEQUENCE));
        String aggregateType = name(headers, AGGREGATE_TYPE);
        String aggregateId = name(headers, AGGREGATE_ID);
        String eventType = name(headers, EVENT_TYPE);
        Instant createdAt = instant(required(headers, CREATED_AT));
        Map<String, String> own = new LinkedHashMap<>(headers);
        RESERVED.forEach(own::remove);
        return new OutboxMessage(id, sequence, aggregateType, aggregateId, eventType, payload, own, createdAt, 0);
    }

    private static String required(Map<String, String> headers, String name) {
        String value = headers.get(name);
        if (value == null) {
            throw new IllegalArgumentException("header " + name + " is missing");
        }
        return value;
    }

    private static UUID uuid(String text) {
        try {
            UUID id = UUID.fromString(text);
            if (id.toString().equalsIgnoreCase(text)) {
                return id;
            }
        } catch (IllegalArgumentException e) {
            // reported below
        }
        throw new IllegalArgumentException("header " + ID + " is not a UUID: " + Texts.abbreviate(text, 60));
    }

    private static long sequence(String text) {
        try {
            long sequence = Long.parseLong(text);
            if (sequence >= 0) {
                return sequence;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("header " + SEQUENCE + " is not a whole number of 0 or more: "
                + Texts.abbreviate(text, 60));
    }

    private static String name(Map<String, String> headers, String header) {
        String value = required(headers, header);
        if (value.isBlank() || value.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("header " + header + " must be 1 to " + MAX_NAME_LENGTH
                    + " characters, not blank");
        }
        return value;
    }

    private static Instant instant(String text) {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("header " + CREATED_AT + " is not an ISO-8601 time: "
                    + Texts.abbreviate(text, 60));
        }
    }

}
