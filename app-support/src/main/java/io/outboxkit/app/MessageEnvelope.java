package io.outboxkit.app;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.core.OutboxMessage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The JSON form of a message between the relay and a consumer:
 * <pre>{@code
 * {"id": "<uuid>", "sequence": 42, "aggregate_type": "Order", "aggregate_id": "<id>",
 *  "event_type": "OrderCreated", "payload": {...}, "headers": {"k": "v"},
 *  "created_at": "2026-11-26T15:00:00Z", "attempts": 1}
 * }</pre>
 * {@code sequence}, {@code headers} and {@code attempts} may be left out; fields it does not know
 * are ignored, so a newer relay can add some.
 */
public final class MessageEnvelope {

    /** The longest aggregate type, aggregate id or event type accepted. */
    public static final int MAX_NAME_LENGTH = 200;

    private MessageEnvelope() {
    }

    /**
     * {@code message} as an envelope object, for a tool that adds fields of its own.
     *
     * @throws IllegalStateException when the payload is not JSON
     */
    public static ObjectNode toJson(OutboxMessage message) {
        try {
            return (ObjectNode) Jsons.mapper().readTree(toBytes(message));
        } catch (IOException e) {
            throw new IllegalStateException("payload of message " + message.id() + " is not JSON", e);
        }
    }

    /**
     * {@code message} as envelope JSON bytes, as a batch carries it and as single delivery sends
     * it. The payload (JSON text from the database) is copied as it is, not parsed again.
     *
     * @throws IOException when the envelope cannot be written
     */
    public static byte[] toBytes(OutboxMessage message) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + message.payload().length());
        try (JsonGenerator json = Jsons.mapper().getFactory().createGenerator(out)) {
            json.writeStartObject();
            json.writeStringField("id", message.id().toString());
            json.writeNumberField("sequence", message.sequence());
            json.writeStringField("aggregate_type", message.aggregateType());
            json.writeStringField("aggregate_id", message.aggregateId());
            json.writeStringField("event_type", message.eventType());
            json.writeFieldName("payload");
            json.writeRawValue(message.payload());
            json.writeObjectFieldStart("headers");
            for (Map.Entry<String, String> header : message.headers().entrySet()) {
                json.writeStringField(header.getKey(), header.getValue());
            }
            json.writeEndObject();
            json.writeStringField("created_at", message.createdAt().toString());
            json.writeNumberField("attempts", message.attempts());
            json.writeEndObject();
        }
        return out.toByteArray();
    }

    /** Parses and validates an envelope. */
    public static OutboxMessage parse(byte[] body) {
        JsonNode node;
        try {
            node = Jsons.mapper().readTree(body);
        } catch (JacksonException e) {
            throw new InvalidEnvelopeException("body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new InvalidEnvelopeException("body could not be read: " + e.getMessage());
        } catch (NumberFormatException e) {
            // decimals are read as BigDecimal while parsing: an exponent beyond an int fails there
            throw new InvalidEnvelopeException("body has a number out of any usable range");
        }
        return fromJson(node);
    }

    /** Validates an envelope already parsed. */
    public static OutboxMessage fromJson(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw new InvalidEnvelopeException("envelope must be a JSON object");
        }
        UUID id = uuid(node, "id");
        long sequence = optionalLong(node, "sequence");
        String aggregateType = name(node, "aggregate_type");
        String aggregateId = name(node, "aggregate_id");
        String eventType = name(node, "event_type");
        JsonNode payload = node.get("payload");
        if (payload == null || payload.isMissingNode()) {
            throw new InvalidEnvelopeException("payload is required");
        }
        Map<String, String> headers = headers(node.get("headers"));
        Instant createdAt = instant(node, "created_at");
        int attempts = (int) Math.min(Integer.MAX_VALUE, optionalLong(node, "attempts"));
        return new OutboxMessage(id, sequence, aggregateType, aggregateId, eventType, payload.toString(), headers,
                createdAt, attempts);
    }

    private static UUID uuid(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw new InvalidEnvelopeException(field + " is required and must be a UUID string");
        }
        return Uuids.parse(value.asText()).orElseThrow(
                () -> new InvalidEnvelopeException(field + " is not a UUID: " + abbreviate(value.asText())));
    }

    private static String name(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual() || value.asText().isBlank()) {
            throw new InvalidEnvelopeException(field + " is required and must be a non-empty string");
        }
        if (value.asText().length() > MAX_NAME_LENGTH) {
            throw new InvalidEnvelopeException(field + " is longer than " + MAX_NAME_LENGTH + " characters");
        }
        return value.asText();
    }

    private static long optionalLong(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return 0;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong() || value.asLong() < 0) {
            throw new InvalidEnvelopeException(field + " must be a whole number of 0 or more");
        }
        return value.asLong();
    }

    private static Map<String, String> headers(JsonNode value) {
        if (value == null || value.isNull()) {
            return Map.of();
        }
        if (!value.isObject()) {
            throw new InvalidEnvelopeException("headers must be a JSON object of strings");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> header = it.next();
            if (!header.getValue().isTextual()) {
                throw new InvalidEnvelopeException("header " + abbreviate(header.getKey()) + " must be a string");
            }
            headers.put(header.getKey(), header.getValue().asText());
        }
        return headers;
    }

    private static Instant instant(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw new InvalidEnvelopeException(field + " is required and must be an ISO-8601 time, e.g. 2026-11-26T15:00:00Z");
        }
        try {
            return IsoInstants.parse(value.asText());
        } catch (DateTimeParseException e) {
            throw new InvalidEnvelopeException(field + " is not an ISO-8601 time: " + abbreviate(value.asText()));
        }
    }

    private static String abbreviate(String text) {
        return text.length() <= 60 ? text : text.substring(0, 60) + "...";
    }
}
