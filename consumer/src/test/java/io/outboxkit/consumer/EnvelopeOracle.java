package io.outboxkit.consumer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.app.Jsons;
import java.io.IOException;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * What the consumer must do with a message, written from the README and the envelope's
 * documented rules, independently of the consumer's code: which envelopes are malformed (400),
 * which payloads can never be applied (422), and, for the others, the effect to expect. Remembers
 * the ids it has seen processed, to expect "duplicate" for them. Not thread-safe.
 */
final class EnvelopeOracle {

    /**
     * What one envelope must get: refused as malformed, failed (unusable payload), a duplicate, or
     * processed; or, for an id repeated in one batch after its first place failed, "failed" or
     * "duplicate" (either is fair) and no effect.
     */
    enum Kind { MALFORMED, FAILED, DUPLICATE, PROCESSED, REPEATED_FAILURE }

    /**
     * The verdict on one envelope.
     *
     * @param kind    what it must get
     * @param id      its id (for a malformed one, null unless its id is a UUID: a batch fails it alone)
     * @param effect  for PROCESSED: the order event it applies, or null for an event type without effect
     */
    record Verdict(Kind kind, UUID id, Effect effect) {
    }

    /**
     * An order event's effect: OrderCreated counts {@code amount} for {@code userId}; every order
     * event sets the status of {@code orderId} as of {@code sequence}.
     */
    record Effect(String eventType, UUID orderId, UUID userId, BigDecimal amount, long sequence) {
    }

    private static final Set<String> ORDER_EVENTS = Set.of("OrderCreated", "OrderPaid", "OrderCancelled");
    private static final BigDecimal MAX_AMOUNT = new BigDecimal("10000000000");

    private final Set<UUID> processed = new HashSet<>();

    /** The fields of an envelope the service reads; it skips any other without reading its value. */
    private static final Set<String> ENVELOPE_FIELDS = Set.of("id", "sequence", "aggregate_type", "aggregate_id",
            "event_type", "payload", "headers", "created_at", "attempts");

    /**
     * The body parsed as the service would (no limit on nesting or a number's length), or null when
     * it is not JSON. An envelope's unknown fields are left out unread, as the service ignores them: a
     * number no Java type holds (an exponent beyond an int) there breaks nothing.
     *
     * @param single whether the body is one envelope ({@code POST /messages}) or a batch of them
     */
    static JsonNode parse(byte[] body, boolean single) {
        ObjectMapper mapper = Jsons.messageMapper();
        // each value is read in the middle of the body: the trailing tokens are checked once, below
        ObjectReader values = mapper.reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        try (JsonParser json = mapper.getFactory().createParser(body)) {
            JsonToken first = json.nextToken();
            if (first == null) {
                return null;
            }
            JsonNode root = first != JsonToken.START_OBJECT ? values.readTree(json)
                    : single ? envelope(json, values) : batch(json, values);
            return json.nextToken() == null ? root : null; // the service refuses anything after the value
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }

    /** The batch object whose START_OBJECT is the current token, each envelope of its messages as {@link #envelope}. */
    private static JsonNode batch(JsonParser json, ObjectReader values) throws IOException {
        ObjectNode batch = JsonNodeFactory.instance.objectNode();
        for (JsonToken token = json.nextToken(); token == JsonToken.FIELD_NAME; token = json.nextToken()) {
            String name = json.currentName();
            if (json.nextToken() == JsonToken.START_ARRAY && name.equals("messages")) {
                ArrayNode messages = JsonNodeFactory.instance.arrayNode();
                for (JsonToken item = json.nextToken(); item != JsonToken.END_ARRAY; item = json.nextToken()) {
                    messages.add(item == JsonToken.START_OBJECT ? envelope(json, values) : values.readTree(json));
                }
                batch.set(name, messages);
            } else {
                batch.set(name, values.readTree(json));
            }
        }
        return batch;
    }

    /** The envelope object whose START_OBJECT is the current token, without its unknown fields. */
    private static JsonNode envelope(JsonParser json, ObjectReader values) throws IOException {
        ObjectNode envelope = JsonNodeFactory.instance.objectNode();
        for (JsonToken token = json.nextToken(); token == JsonToken.FIELD_NAME; token = json.nextToken()) {
            String name = json.currentName();
            json.nextToken();
            if (ENVELOPE_FIELDS.contains(name)) {
                envelope.set(name, values.readTree(json));
            } else {
                json.skipChildren();
            }
        }
        return envelope;
    }

    /** The verdict on {@code envelope}; {@link #commit} records it once the service agreed. */
    Verdict judge(JsonNode envelope) {
        UUID id = envelopeId(envelope);
        if (id == null) {
            return new Verdict(Kind.MALFORMED, envelope != null && envelope.isObject() ? canonicalUuid(envelope.get("id")) : null, null);
        }
        if (processed.contains(id)) {
            return new Verdict(Kind.DUPLICATE, id, null);
        }
        String eventType = envelope.get("event_type").asText();
        if (!ORDER_EVENTS.contains(eventType)) {
            return new Verdict(Kind.PROCESSED, id, null);
        }
        Effect effect = effect(envelope, eventType);
        return effect == null ? new Verdict(Kind.FAILED, id, null) : new Verdict(Kind.PROCESSED, id, effect);
    }

    /** Records a verdict the service carried out (a processed id is a duplicate from now on). */
    void commit(Verdict verdict) {
        if (verdict.kind() == Kind.PROCESSED) {
            processed.add(verdict.id());
        }
    }

    /** The envelope's id when the envelope is well-formed, else null. */
    private static UUID envelopeId(JsonNode node) {
        if (node == null || !node.isObject()) {
            return null;
        }
        UUID id = canonicalUuid(node.get("id"));
        boolean wellFormed = id != null
                && wholeNumberOrAbsent(node.get("sequence"))
                && name(node.get("aggregate_type")) && name(node.get("aggregate_id")) && name(node.get("event_type"))
                && node.get("payload") != null
                && headers(node.get("headers"))
                && instant(node.get("created_at"))
                && wholeNumberOrAbsent(node.get("attempts"));
        return wellFormed ? id : null;
    }

    private static Effect effect(JsonNode envelope, String eventType) {
        JsonNode payload = envelope.get("payload");
        if (!payload.isObject()) {
            return null;
        }
        UUID orderId;
        if (payload.hasNonNull("order_id")) {
            orderId = canonicalUuid(payload.get("order_id"));
        } else {
            orderId = canonicalUuid(envelope.get("aggregate_id"));
        }
        if (orderId == null) {
            return null;
        }
        long sequence = envelope.hasNonNull("sequence") ? envelope.get("sequence").asLong() : 0;
        if (!"OrderCreated".equals(eventType)) {
            if (payload.hasNonNull("user_id") && canonicalUuid(payload.get("user_id")) == null) {
                return null;
            }
            return new Effect(eventType, orderId, null, null, sequence);
        }
        UUID userId = canonicalUuid(payload.get("user_id"));
        BigDecimal amount = amount(payload.get("amount"));
        return userId == null || amount == null ? null : new Effect(eventType, orderId, userId, amount, sequence);
    }

    private static BigDecimal amount(JsonNode value) {
        BigDecimal amount = null;
        if (value != null && value.isNumber()) {
            amount = value.decimalValue();
            if (amount.unscaledValue().abs().toString().length() > 40 || Math.abs((long) amount.scale()) > 40) {
                return null;
            }
        } else if (value != null && value.isTextual() && value.asText().length() <= 40) {
            try {
                amount = new BigDecimal(value.asText().trim());
            } catch (NumberFormatException e) {
                return null;
            }
        }
        if (amount == null || amount.signum() <= 0 || amount.compareTo(MAX_AMOUNT) >= 0
                || amount.stripTrailingZeros().scale() > 2) {
            return null;
        }
        return amount;
    }

    /** A UUID string in its canonical 8-4-4-4-12 form, in either case. */
    private static UUID canonicalUuid(JsonNode value) {
        if (value == null || !value.isTextual()) {
            return null;
        }
        String text = value.asText();
        try {
            UUID uuid = UUID.fromString(text);
            return uuid.toString().equalsIgnoreCase(text) ? uuid : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static boolean wholeNumberOrAbsent(JsonNode value) {
        return value == null || value.isNull()
                || value.isIntegralNumber() && value.canConvertToLong() && value.asLong() >= 0;
    }

    private static boolean name(JsonNode value) {
        return value != null && value.isTextual() && !value.asText().isBlank() && value.asText().length() <= 200;
    }

    private static boolean headers(JsonNode value) {
        if (value == null || value.isNull()) {
            return true;
        }
        if (!value.isObject()) {
            return false;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
            if (!it.next().getValue().isTextual()) {
                return false;
            }
        }
        return true;
    }

    private static boolean instant(JsonNode value) {
        if (value == null || !value.isTextual()) {
            return false;
        }
        try {
            Instant.parse(value.asText());
            return true;
        } catch (DateTimeParseException e) {
            return false;
        }
    }
}
