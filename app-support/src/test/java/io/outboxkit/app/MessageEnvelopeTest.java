package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.core.OutboxMessage;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The envelope written for the consumer reads back as the message it was written from. */
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
    void the_payload_travels_as_stored_without_being_parsed_again() throws Exception {
        String envelope = new String(MessageEnvelope.toBytes(MESSAGE), StandardCharsets.UTF_8);

        assertThat(envelope).contains("\"payload\":" + MESSAGE.payload() + ",");
    }

    @Test
    void the_json_tree_has_every_field_of_the_envelope_in_order_and_the_payload_as_json() {
        assertThat(MessageEnvelope.toJson(MESSAGE).fieldNames()).toIterable().containsExactly("id", "sequence",
                "aggregate_type", "aggregate_id", "event_type", "payload", "headers", "created_at", "attempts");
        assertThat(MessageEnvelope.toJson(MESSAGE).get("payload").get("amount").decimalValue()).isEqualByComparingTo("42.50");
    }
}
