package io.outboxkit.app;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.outboxkit.core.OutboxMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * An envelope's fields as found, from a JSON tree or read from a parser, validated into a message
 * by one set of rules whichever way they were read. A field's value is kept as a {@code String}
 * (JSON text), a {@code Long} (a whole number that fits), {@code null} (absent or JSON null), or
 * {@link #WRONG} (anything else). Not thread-safe; one per envelope.
 */
final class EnvelopeFields {

    /** A value of a type no field takes. */
    private static final Object WRONG = new Object();
    /** Reads one value of a stream as a tree: what follows it is the rest of the stream, not trailing garbage. */
    private static final ObjectReader TREES = Jsons.mapper().reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Object id;
    private Object sequence;
    private Object aggregateType;
    private Object aggregateId;
    private Object eventType;
    private Object createdAt;
    private Object attempts;
    private String payloadText;
    private JsonNode payload;
    private Map<String, String> headers = Map.of();
    private String headersProblem;

    /** The fields of an envelope already parsed as a tree (which is an object). */
    static EnvelopeFields of(JsonNode node) {
        EnvelopeFields fields = new EnvelopeFields();
        fields.id = value(node.get("id"));
        fields.sequence = value(node.get("sequence"));
        fields.aggregateType = value(node.get("aggregate_type"));
        fields.aggregateId = value(node.get("aggregate_id"));
        fields.eventType = value(node.get("event_type"));
        fields.createdAt = value(node.get("created_at"));
        fields.attempts = value(node.get("attempts"));
        JsonNode payload = node.get("payload");
        if (payload != null && !payload.isMissingNode()) {
            fields.payload = payload;
            fields.payloadText = payload.toString();
        }
        fields.headers(node.get("headers"));
        return fields;
    }

    /**
     * Reads the object whose START_OBJECT is {@code json}'s current token, leaving the parser on its
     * END_OBJECT. {@code json} reads {@code body} from its first byte, so that a payload object or
     * array is kept as the very text it was sent as, not written out again from its tree.
     */
    static EnvelopeFields read(JsonParser json, byte[] body) throws IOException {
        EnvelopeFields fields = new EnvelopeFields();
        for (JsonToken token = json.nextToken(); token == JsonToken.FIELD_NAME; token = json.nextToken()) {
            String field = json.currentName();
            JsonToken value = json.nextToken();
            switch (field) {
                case "id" -> fields.id = value(json, value);
                case "sequence" -> fields.sequence = value(json, value);
                case "aggregate_type" -> fields.aggregateType = value(json, value);
                case "aggregate_id" -> fields.aggregateId = value(json, value);
                case "event_type" -> fields.eventType = value(json, value);
                case "created_at" -> fields.createdAt = value(json, value);
                case "attempts" -> fields.attempts = value(json, value);
                case "payload" -> fields.payload(json, value, body);
                case "headers" -> fields.headers(json, value);
                default -> json.skipChildren();
            }
        }
        return fields;
    }

    /**
     * The message these fields make, its fields checked in the envelope's order (the first wrong
     * one is reported).
     *
     * @throws InvalidEnvelopeException naming the field at fault and what it must be
     */
    OutboxMessage message() {
        UUID messageId = uuid("id", id);
        long messageSequence = optionalLong("sequence", sequence);
        String type = name("aggregate_type", aggregateType);
        String aggregate = name("aggregate_id", aggregateId);
        String event = name("event_type", eventType);
        if (payloadText == null) {
            throw new InvalidEnvelopeException("payload is required");
        }
        if (headersProblem != null) {
            throw new InvalidEnvelopeException(headersProblem);
        }
        Instant created = instant("created_at", createdAt);
        int tries = (int) Math.min(Integer.MAX_VALUE, optionalLong("attempts", attempts));
        return new OutboxMessage(messageId, messageSequence, type, aggregate, event, payloadText, headers, created, tries);
    }

    /** The payload as parsed with the envelope (JSON null for a null payload); null when it had none. */
    JsonNode payload() {
        return payload;
    }

    private static Object value(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        return node.isIntegralNumber() && node.canConvertToLong() ? (Object) node.asLong() : WRONG;
    }

    private static Object value(JsonParser json, JsonToken token) throws IOException {
        switch (token) {
            case VALUE_NULL:
                return null;
            case VALUE_STRING:
                return json.getText();
            case VALUE_NUMBER_INT:
                JsonParser.NumberType type = json.getNumberType();
                return type == JsonParser.NumberType.INT || type == JsonParser.NumberType.LONG ? (Object) json.getLongValue() : WRONG;
            default:
                json.skipChildren();
                return WRONG;
        }
    }

    private void payload(JsonParser json, JsonToken token, byte[] body) throws IOException {
        long start = json.currentTokenLocation().getByteOffset();
        payload = TREES.readTree(json);
        long end = json.currentLocation().getByteOffset();
        boolean container = token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY;
        payloadText = container && start >= 0 && end <= body.length && start < end
                ? new String(body, (int) start, (int) (end - start), StandardCharsets.UTF_8)
                : payload.toString();
    }

    private void headers(JsonNode value) {
        if (value == null || value.isNull()) {
            return;
        }
        if (!value.isObject()) {
            headersProblem = "headers must be a JSON object of strings";
            return;
        }
        Map<String, String> found = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> header = it.next();
            if (!header.getValue().isTextual()) {
                headersProblem = "header " + abbreviate(header.getKey()) + " must be a string";
                return;
            }
            found.put(header.getKey(), header.getValue().asText());
        }
        headers = found;
    }

    private void headers(JsonParser json, JsonToken token) throws IOException {
        headers = Map.of();
        headersProblem = null;
        if (token == JsonToken.VALUE_NULL) {
            return;
        }
        if (token != JsonToken.START_OBJECT) {
            json.skipChildren();
            headersProblem = "headers must be a JSON object of strings";
            return;
        }
        Map<String, String> found = new LinkedHashMap<>();
        for (JsonToken next = json.nextToken(); next == JsonToken.FIELD_NAME; next = json.nextToken()) {
            String name = json.currentName();
            if (json.nextToken() == JsonToken.VALUE_STRING) {
                found.put(name, json.getText());
            } else {
                json.skipChildren();
                if (headersProblem == null) {
                    headersProblem = "header " + abbreviate(name) + " must be a string";
                }
            }
        }
        headers = found;
    }

    private static UUID uuid(String field, Object value) {
        if (!(value instanceof String text)) {
            throw new InvalidEnvelopeException(field + " is required and must be a UUID string");
        }
        return Uuids.parse(text).orElseThrow(() -> new InvalidEnvelopeException(field + " is not a UUID: " + abbreviate(text)));
    }

    private static String name(String field, Object value) {
        if (!(value instanceof String text) || text.isBlank()) {
            throw new InvalidEnvelopeException(field + " is required and must be a non-empty string");
        }
        if (text.length() > MessageEnvelope.MAX_NAME_LENGTH) {
            throw new InvalidEnvelopeException(field + " is longer than " + MessageEnvelope.MAX_NAME_LENGTH + " characters");
        }
        return text;
    }

    private static long optionalLong(String field, Object value) {
        if (value == null) {
            return 0;
        }
        if (!(value instanceof Long number) || number < 0) {
            throw new InvalidEnvelopeException(field + " must be a whole number of 0 or more");
        }
        return number;
    }

    private static Instant instant(String field, Object value) {
        if (!(value instanceof String text)) {
            throw new InvalidEnvelopeException(field + " is required and must be an ISO-8601 time, e.g. 2026-11-26T15:00:00Z");
        }
        try {
            return IsoInstants.parse(text);
        } catch (DateTimeParseException e) {
            throw new InvalidEnvelopeException(field + " is not an ISO-8601 time: " + abbreviate(text));
        }
    }

    private static String abbreviate(String text) {
        return text.length() <= 60 ? text : text.substring(0, 60) + "...";
    }
}
