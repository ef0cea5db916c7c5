package io.outboxkit.app;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.JsonParserDelegate;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.Texts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * An envelope's fields as read from a parser (over the bytes sent, or walking a tree), validated
 * into a message. A field's value is kept as a {@code String}
 * (JSON text), a {@code Long} (a whole number that fits), {@code null} (absent or JSON null), or
 * {@link #WRONG} (anything else). Not thread-safe; one per envelope.
 */
final class EnvelopeFields {

    /** A value of a type no field takes. */
    private static final Object WRONG = new Object();
    /** Reads one value of a stream as a tree: what follows it is the rest of the stream, not trailing garbage. */
    private static final ObjectReader TREES = Jsons.messageMapper().reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Object id;
    private Object sequence;
    private Object aggregateType;
    private Object aggregateId;
    private Object eventType;
    private Object createdAt;
    private Object attempts;
    private String payloadText;
    private String payloadProblem;
    private JsonNode payload;
    private Map<String, String> headers = Map.of();
    private String headersProblem;

    /**
     * Reads the object whose START_OBJECT is {@code json}'s current token, leaving the parser on its
     * END_OBJECT. When {@code json} reads {@code body} from its first byte, a payload object or
     * array is kept as the very text it was sent as; when {@code body} is null (the parser walks a
     * tree), each payload is written out from its tree.
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
     * @throws InvalidEnvelopeException naming the field at fault and what it must be, with the
     *         envelope's id unless the id is what is wrong
     */
    OutboxMessage message() {
        UUID messageId = uuid("id", id);
        try {
            return message(messageId);
        } catch (InvalidEnvelopeException e) {
            throw new InvalidEnvelopeException(e.getMessage(), messageId);
        }
    }

    private OutboxMessage message(UUID messageId) {
        long messageSequence = optionalLong("sequence", sequence);
        String type = name("aggregate_type", aggregateType);
        String aggregate = name("aggregate_id", aggregateId);
        String event = name("event_type", eventType);
        if (payloadProblem != null) {
            throw new InvalidEnvelopeException(payloadProblem);
        }
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
        boolean container = token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY;
        int envelopeDepth = json.getParsingContext().getNestingDepth() - (container ? 1 : 0);
        try {
            payload = TREES.readTree(new DepthLimited(json, envelopeDepth + Jsons.MAX_PAYLOAD_DEPTH));
        } catch (DepthLimited.TooDeep e) {
            // skipped, not built: the envelope fails alone, and those after it are still read
            while (json.getParsingContext().getNestingDepth() > envelopeDepth) {
                json.nextToken();
            }
            payload = null;
            payloadText = null;
            payloadProblem = "payload nests deeper than " + Jsons.MAX_PAYLOAD_DEPTH + " levels";
            return;
        }
        long end = json.currentLocation().getByteOffset();
        payloadText = container && body != null && start >= 0 && end <= body.length && start < end
                ? new String(body, (int) start, (int) (end - start), StandardCharsets.UTF_8)
                : payload.toString();
        payloadProblem = null;
    }

    /** A parser that stops, throwing {@link TooDeep}, at a value that opens nesting deeper than {@code maxDepth}. */
    private static final class DepthLimited extends JsonParserDelegate {

        /** Thrown on the opening token of the value too deep, where the parser below stands. */
        static final class TooDeep extends IOException {
            TooDeep() {
                super("nesting too deep");
            }
        }

        private final int maxDepth;

        DepthLimited(JsonParser json, int maxDepth) {
            super(json);
            this.maxDepth = maxDepth;
        }

        @Override
        public JsonToken nextToken() throws IOException {
            JsonToken token = delegate.nextToken();
            if ((token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY)
                    && delegate.getParsingContext().getNestingDepth() > maxDepth) {
                throw new TooDeep();
            }
            return token;
        }

        @Override
        public JsonToken nextValue() throws IOException {
            JsonToken token = nextToken();
            return token == JsonToken.FIELD_NAME ? nextToken() : token;
        }
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
                    headersProblem = "header " + Texts.abbreviate(name, 60) + " must be a string";
                }
            }
        }
        headers = found;
    }

    private static UUID uuid(String field, Object value) {
        if (!(value instanceof String text)) {
            throw new InvalidEnvelopeException(field + " is required and must be a UUID string");
        }
        return Uuids.parse(text).orElseThrow(() -> new InvalidEnvelopeException(field + " is not a UUID: " + Texts.abbreviate(text, 60)));
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
            throw new InvalidEnvelopeException(field + " is not an ISO-8601 time: " + Texts.abbreviate(text, 60));
        }
    }
}
