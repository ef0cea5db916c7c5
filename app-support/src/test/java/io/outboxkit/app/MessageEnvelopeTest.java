package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.core.OutboxMessage;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The envelope written for the consumer reads back as the message it was written from; read as a
 * stream, it is held to the same rules as read from a tree.
 */
class MessageEnvelopeTest {

    static final OutboxMessage MESSAGE = new OutboxMessage(UUID.fromString("0193a5e2-7c3f-7b1e-9f00-1234567890ab"), 42,
            "Order", "order-1", "OrderCreated", "{\"amount\": 42.50, \"note\": \"\\u00e9\"}", Map.of("trace_id", "t-1"),
            Instant.parse("2026-11-26T15:00:00.123Z"), 3);

    @Test
    void a_message_written_as_bytes_reads_back_as_the_same_message() throws Exception {
        OutboxMessage read = MessageEnvelope.parse(MessageEnvelope.toBytes(MESSAGE));

        assertThat(read).usingRecursiveComparison().ignoringFields("payload").isEqualTo(MESSAGE);
        assertThat(Jsons.mapper().readTree(read.payload())).isEqualTo(Jsons.mapper().readTree(MESSAGE.payload()));
    }

    @Test
    void a_payload_nesting_deeper_and_with_longer_numbers_than_an_api_body_may_is_read_as_sent() throws Exception {
        String payload = "{\"deep\":" + "[".repeat(10_000) + "]".repeat(10_000) + ",\"long\":" + "1".repeat(131_072)
                + ",\"fraction\":0." + "1".repeat(16_383) + "}";
        OutboxMessage message = new OutboxMessage(MESSAGE.id(), 1, "Order", "order-1", "OrderCreated", payload, Map.of(),
                MESSAGE.createdAt(), 1);

        assertThat(MessageEnvelope.parse(MessageEnvelope.toBytes(message)).payload()).isEqualTo(payload);
    }

    @Test
    void an_envelope_refused_for_a_field_after_its_id_gives_the_id_and_one_refused_for_its_id_gives_none() throws Exception {
        String noType = new String(MessageEnvelope.toBytes(MESSAGE), StandardCharsets.UTF_8).replace("\"aggregate_type\":\"Order\",", "");
        String badId = noType.replace(MESSAGE.id().toString(), "not-a-uuid");

        InvalidEnvelopeException refused = catchThrowableOfType(InvalidEnvelopeException.class,
                () -> MessageEnvelope.parse(noType.getBytes(StandardCharsets.UTF_8)));
        assertThat(refused.getMessage()).startsWith("aggregate_type");
        assertThat(refused.messageId()).hasValue(MESSAGE.id());
        assertThat(catchThrowableOfType(InvalidEnvelopeException.class,
                () -> MessageEnvelope.parse(badId.getBytes(StandardCharsets.UTF_8))).messageId()).isEmpty();
    }

    @Test
    void the_payload_travels_as_stored_without_being_parsed_again() throws Exception {
        String envelope = new String(MessageEnvelope.toBytes(MESSAGE), StandardCharsets.UTF_8);

        assertThat(envelope).contains("\"payload\":" + MESSAGE.payload() + ",");
    }

    @Test
    void the_envelope_has_every_field_in_order_then_the_fields_a_tool_adds() throws Exception {
        Map<String, String> more = new LinkedHashMap<>();
        more.put("status", "PENDING");
        more.put("last_error", null);
        JsonNode envelope = Jsons.messageMapper().readTree(MessageEnvelope.toBytes(MESSAGE, more));

        assertThat(envelope.fieldNames()).toIterable().containsExactly("id", "sequence", "aggregate_type",
                "aggregate_id", "event_type", "payload", "headers", "created_at", "attempts", "status", "last_error");
        assertThat(envelope.get("payload").get("amount").decimalValue()).isEqualByComparingTo("42.50");
        assertThat(envelope.get("status").asText()).isEqualTo("PENDING");
        assertThat(envelope.get("last_error").isNull()).isTrue();
    }

    @Test
    void a_payload_nested_deeper_than_jacksons_default_limits_is_written_and_read_again() throws Exception {
        // jsonb stores nesting many thousands deep; Jackson refuses more than 1,000 by default
        String deep = "[".repeat(5000) + "]".repeat(5000);
        OutboxMessage message = new OutboxMessage(MESSAGE.id(), 1, "Order", "o-1", "OrderCreated", deep, Map.of(),
                MESSAGE.createdAt(), 1);
        JsonNode envelope = Jsons.messageMapper().readTree(MessageEnvelope.toBytes(message));

        assertThat(Jsons.messageMapper().writeValueAsString(envelope.get("payload"))).isEqualTo(deep);
    }

    @Test
    void read_from_a_body_of_several_envelopes_each_payload_is_the_text_it_was_sent_as() throws Exception {
        String first = "{\"note\": \"d\u00e9j\u00e0 \u2713\", \"n\": [1, 2.50]}";
        String second = "[ {\"\u00fc\": true} ,null]";
        byte[] body = ("[" + envelope("0193a5e2-7c3f-7b1e-9f00-1234567890ab", first) + ", "
                + envelope("0193a5e2-7c3f-7b1e-9f00-1234567890ac", second) + "]").getBytes(StandardCharsets.UTF_8);

        List<MessageEnvelope.Read> read = new ArrayList<>();
        try (JsonParser json = Jsons.mapper().createParser(body)) {
            json.nextToken();
            while (json.nextToken() == JsonToken.START_OBJECT) {
                read.add(MessageEnvelope.read(json, body));
            }
        }

        assertThat(read).extracting(r -> r.message().payload()).containsExactly(first, second);
        assertThat(read.get(0).payload()).isEqualTo(Jsons.mapper().readTree(first));
        assertThat(read.get(1).payload()).isEqualTo(Jsons.mapper().readTree(second));
    }

    @Test
    void a_payload_nesting_as_deep_as_the_limit_is_read_as_sent() throws Exception {
        String deep = nested(Jsons.MAX_PAYLOAD_DEPTH);

        assertThat(MessageEnvelope.parse(envelope(MESSAGE.id().toString(), deep).getBytes(StandardCharsets.UTF_8)).payload())
                .isEqualTo(deep);
    }

    @Test
    void a_payload_nesting_deeper_than_jsonb_holds_is_refused_naming_the_envelopes_id() {
        byte[] body = envelope(MESSAGE.id().toString(), nested(Jsons.MAX_PAYLOAD_DEPTH + 1)).getBytes(StandardCharsets.UTF_8);

        InvalidEnvelopeException refused = catchThrowableOfType(InvalidEnvelopeException.class, () -> MessageEnvelope.parse(body));
        assertThat(refused.getMessage()).isEqualTo("payload nests deeper than 65536 levels");
        assertThat(refused.messageId()).hasValue(MESSAGE.id());
    }

    @Test
    void read_from_a_body_of_several_envelopes_one_whose_payload_nests_too_deep_is_refused_alone() throws Exception {
        String later = "0193a5e2-7c3f-7b1e-9f00-1234567890ac";
        byte[] body = ("[" + envelope(MESSAGE.id().toString(), "{\"meta\": " + nested(Jsons.MAX_PAYLOAD_DEPTH) + "}") + ", "
                + envelope(later, "{}") + "]").getBytes(StandardCharsets.UTF_8);

        List<String> verdicts = new ArrayList<>();
        try (JsonParser json = Jsons.messageMapper().createParser(body)) {
            json.nextToken();
            while (json.nextToken() == JsonToken.START_OBJECT) {
                verdicts.add(verdict(() -> MessageEnvelope.read(json, body).message()));
            }
        }

        assertThat(verdicts).hasSize(2);
        assertThat(verdicts.get(0)).isEqualTo("refused: payload nests deeper than 65536 levels");
        assertThat(verdicts.get(1)).contains(later);
    }

    @Test
    void read_as_a_stream_every_envelope_gets_what_its_json_tree_gets() throws Exception {
        Random random = new Random(20261206);
        for (int i = 0; i < 20_000; i++) {
            byte[] body = randomEnvelope(random).getBytes(StandardCharsets.UTF_8);
            String streamed = verdict(() -> MessageEnvelope.parse(body));
            String fromTree = verdict(() -> MessageEnvelope.fromJson(Jsons.mapper().readTree(body)));

            assertThat(streamed).as(new String(body, StandardCharsets.UTF_8)).isEqualTo(fromTree);
        }
    }

    /** Arrays nested {@code depth} deep. */
    private static String nested(int depth) {
        return "[".repeat(depth) + "]".repeat(depth);
    }

    private static String envelope(String id, String payload) {
        return "{\"id\": \"" + id + "\", \"aggregate_type\": \"Order\", \"aggregate_id\": \"o-1\", "
                + "\"event_type\": \"OrderCreated\", \"payload\": " + payload + ", \"created_at\": \"2026-11-26T15:00:00Z\"}";
    }

    /** What reading an envelope gave: the message (its payload as JSON), or the refusal's text. */
    private static String verdict(Callable<OutboxMessage> read) throws Exception {
        try {
            OutboxMessage message = read.call();
            return message.id() + "|" + message.sequence() + "|" + message.aggregateType() + "|" + message.aggregateId() + "|"
                    + message.eventType() + "|" + Jsons.mapper().readTree(message.payload()) + "|" + message.headers() + "|"
                    + message.createdAt() + "|" + message.attempts();
        } catch (InvalidEnvelopeException e) {
            return "refused: " + e.getMessage();
        }
    }

    private static final String[] FIELDS = {"id", "sequence", "aggregate_type", "aggregate_id", "event_type", "payload",
            "headers", "created_at", "attempts", "extra"};

    /** An envelope whose fields are each, by chance, absent, right, or one of the wrong things a client may send. */
    private static String randomEnvelope(Random random) {
        List<String> fields = new ArrayList<>();
        for (String field : FIELDS) {
            if (random.nextInt(8) == 0) {
                continue;
            }
            String value = random.nextInt(5) == 0 ? WRONG_VALUES[random.nextInt(WRONG_VALUES.length)] : rightValue(field, random);
            fields.add("\"" + field + "\": " + value);
            if (random.nextInt(30) == 0) {
                fields.add("\"" + field + "\": " + WRONG_VALUES[random.nextInt(WRONG_VALUES.length)]); // given twice
            }
        }
        Collections.shuffle(fields, random);
        return "{" + String.join(", ", fields) + "}";
    }

    private static final String[] WRONG_VALUES = {"null", "true", "0", "-1", "7.5", "1e3", "99999999999999999999", "\"\"",
            "\"  \"", "\"not-a-uuid\"", "\"12\"", "[]", "[1, {\"a\": [2]}]", "{}", "{\"a\": 1}", "{\"a\": null}",
            "\"" + "x".repeat(201) + "\"", "\"2026-13-01T00:00:00Z\"", "\"0193a5e2-7c3f-7b1e-9f00-1234567890ag\""};

    private static String rightValue(String field, Random random) {
        return switch (field) {
            case "id" -> "\"" + new UUID(random.nextLong(), random.nextLong()) + "\"";
            case "sequence", "attempts" -> Long.toString(random.nextInt(3) == 0 ? Long.MAX_VALUE : random.nextInt(1000));
            case "aggregate_type", "event_type" -> "\"Order\u00e9\"";
            case "aggregate_id" -> "\"" + "a".repeat(1 + random.nextInt(200)) + "\"";
            case "payload" -> random.nextBoolean() ? "{\"amount\": 12.50, \"tags\": [\"\u00e9\", null]}" : "\"text\"";
            case "headers" -> random.nextBoolean() ? "{\"traceparent\": \"00-x\", \"k\": \"v\"}" : "{\"k\": 1}";
            case "created_at" -> "\"" + Instant.ofEpochMilli(random.nextLong(0, 4_000_000_000_000L)) + "\"";
            default -> "{\"nested\": [1, 2, {\"deep\": true}]}";
        };
    }
}
