package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.spi.TransportHeaders;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** A message's envelope as broker headers: written and read back the same, and checked when read. */
class TransportHeadersTest {

    private final OutboxMessage message = new OutboxMessage(UUID.fromString("0193a5c4-1b2c-7d3e-8f40-123456789abc"), 42,
            "Order", "order-7", "OrderPaid", "{\"amount\":1}", Map.of("traceparent", "00-abc-def-01"),
            Instant.parse("2026-12-03T10:15:30.123456Z"), 3);

    @Test
    void the_envelope_and_the_messages_own_headers_come_back_as_written() {
        Map<String, String> headers = TransportHeaders.write(message);
        assertThat(headers).containsEntry("id", "0193a5c4-1b2c-7d3e-8f40-123456789abc").containsEntry("sequence", "42")
                .containsEntry("aggregate_type", "Order").containsEntry("aggregate_id", "order-7")
                .containsEntry("event_type", "OrderPaid").containsEntry("created_at", "2026-12-03T10:15:30.123456Z")
                .containsEntry("traceparent", "00-abc-def-01");
        OutboxMessage read = TransportHeaders.read(headers, message.payload());
        assertThat(read).usingRecursiveComparison().ignoringFields("attempts").isEqualTo(message);
        assertThat(read.attempts()).isZero();
    }

    @Test
    void a_missing_or_malformed_envelope_header_is_refused_by_name() {
        Map<String, String> good = TransportHeaders.write(message);
        for (String header : TransportHeaders.RESERVED) {
            Map<String, String> missing = new LinkedHashMap<>(good);
            missing.remove(header);
            assertThatThrownBy(() -> TransportHeaders.read(missing, "{}")).hasMessage("header " + header + " is missing");
        }
        assertThatThrownBy(() -> TransportHeaders.read(with(good, "id", "not-a-uuid"), "{}"))
                .hasMessageContaining("header id is not a UUID");
        assertThatThrownBy(() -> TransportHeaders.read(with(good, "id", "0193A5C4-1B2C-7D3E-8F40-123456789ABCD"), "{}"))
                .hasMessageContaining("header id is not a UUID");
        assertThatThrownBy(() -> TransportHeaders.read(with(good, "sequence", "-1"), "{}"))
                .hasMessageContaining("header sequence is not a whole number");
        assertThatThrownBy(() -> TransportHeaders.read(with(good, "sequence", "1e3"), "{}"))
                .hasMessageContaining("header sequence is not a whole number");
        assertThatThrownBy(() -> TransportHeaders.read(with(good, "event_type", " "), "{}"))
                .hasMessageContaining("header event_type must be 1 to 200 characters");
        assertThatThrownBy(() -> TransportHeaders.read(with(good, "aggregate_id", "x".repeat(201)), "{}"))
                .hasMessageContaining("header aggregate_id must be 1 to 200 characters");
        assertThatThrownBy(() -> TransportHeaders.read(with(good, "created_at", "yesterday"), "{}"))
                .hasMessageContaining("header created_at is not an ISO-8601 time");
        assertThatThrownBy(() -> TransportHeaders.read(good, null)).hasMessageContaining("no body");
    }

    @Test
    void ascii_keeps_printable_ascii_and_escapes_every_other_character() {
        assertThat(TransportHeaders.ascii("amount \u2018-5\u2019 is negative\n\u0000caf\u00e9 \ud83d\ude00"))
                .isEqualTo("amount \\u2018-5\\u2019 is negative\\u000a\\u0000caf\\u00e9 \\ud83d\\ude00");
    }

    @Test
    void a_message_may_not_carry_a_header_under_a_name_the_envelope_uses() {
        for (String header : TransportHeaders.RESERVED) {
            assertThatThrownBy(() -> NewMessage.of("Order", "1", "OrderCreated", "{}").withHeader(header, "x"))
                    .hasMessageContaining("header name " + header + " is reserved");
            assertThatThrownBy(() -> new NewMessage("Order", "1", "OrderCreated", "{}", Map.of(header, "x")))
                    .hasMessageContaining("is reserved");
        }
    }

    @Test
    void the_writer_refuses_a_name_every_reader_would_refuse_so_that_no_message_is_written_to_be_dead_on_arrival() {
        String tooLong = "x".repeat(TransportHeaders.MAX_NAME_LENGTH + 1);

        assertThatThrownBy(() -> NewMessage.of("Order", tooLong, "OrderCreated", "{}"))
                .hasMessage("aggregateId must be at most 200 characters (every reader of a delivered message refuses a "
                        + "longer one), was 201");
        assertThatThrownBy(() -> NewMessage.of(tooLong, "1", "OrderCreated", "{}")).hasMessageStartingWith("aggregateType");
        assertThatThrownBy(() -> NewMessage.of("Order", "1", tooLong, "{}")).hasMessageStartingWith("eventType");
        String longest = "x".repeat(TransportHeaders.MAX_NAME_LENGTH);
        NewMessage written = NewMessage.of(longest, longest, longest, "{}");
        OutboxMessage delivered = new OutboxMessage(UUID.randomUUID(), 1, written.aggregateType(), written.aggregateId(),
                written.eventType(), written.payload(), written.headers(), Instant.now(), 1);
        assertThat(TransportHeaders.read(TransportHeaders.write(delivered), delivered.payload())).isNotNull();
    }

    @Test
    void a_nul_character_which_postgresql_cannot_store_is_refused_in_names_and_headers() {
        assertThatThrownBy(() -> NewMessage.of("Order", "1\u0000", "OrderCreated", "{}"))
                .hasMessage("aggregateId must not contain a NUL character (U+0000): PostgreSQL cannot store it");
        assertThatThrownBy(() -> NewMessage.of("Order", "1", "OrderCreated", "{}").withHeader("tenant", "a\u0000"))
                .hasMessageContaining("header tenant must not contain a NUL character");
        assertThatThrownBy(() -> new NewMessage("Order", "1", "OrderCreated", "{}", Map.of("x\u0000", "a")))
                .hasMessageContaining("header name must not contain a NUL character");
    }

    @Test
    void a_lone_surrogate_which_postgresql_would_store_as_a_question_mark_is_refused_in_every_field() {
        String cut = "customer-\uD83D"; // "customer-\uD83D\uDE00" (an emoji) cut after its first half
        assertThatThrownBy(() -> NewMessage.of("Order", cut, "OrderCreated", "{}"))
                .hasMessage("aggregateId must not contain a lone UTF-16 surrogate (U+D83D at index 9, as left by cutting "
                        + "a string inside a character): it has no UTF-8 form, so PostgreSQL would store '?' in its place");
        assertThatThrownBy(() -> NewMessage.of("Order\uDC00", "1", "OrderCreated", "{}"))
                .hasMessageStartingWith("aggregateType must not contain a lone UTF-16 surrogate (U+DC00 at index 5");
        assertThatThrownBy(() -> NewMessage.of("Order", "1", "\uDE00\uD83DOrderCreated", "{}"))
                .as("a pair in the wrong order is two lone halves").hasMessageStartingWith("eventType must not contain");
        assertThatThrownBy(() -> NewMessage.of("Order", "1", "OrderCreated", "{\"name\": \"Zo\uDE00\"}"))
                .hasMessageStartingWith("payload must not contain a lone UTF-16 surrogate (U+DE00 at index 12");
        assertThatThrownBy(() -> NewMessage.of("Order", "1", "OrderCreated", "{}").withHeader("customer-name", "Zo\uDE00"))
                .hasMessageStartingWith("header customer-name must not contain a lone UTF-16 surrogate");
        assertThatThrownBy(() -> new NewMessage("Order", "1", "OrderCreated", "{}", Map.of("customer-name", "Zo\uD800")))
                .hasMessageStartingWith("header customer-name must not contain a lone UTF-16 surrogate");
        assertThatThrownBy(() -> new NewMessage("Order", "1", "OrderCreated", "{}", Map.of("x\uD800", "a")))
                .hasMessageStartingWith("header name must not contain a lone UTF-16 surrogate");

        String emoji = "\uD83D\uDE00";
        NewMessage whole = new NewMessage("Order" + emoji, emoji, emoji, "{\"name\": \"" + emoji + "\"}", Map.of(emoji, emoji));
        assertThat(whole.aggregateId()).as("a whole character, its two halves in order, is taken").isEqualTo(emoji);
    }

    private static Map<String, String> with(Map<String, String> headers, String name, String value) {
        Map<String, String> changed = new LinkedHashMap<>(headers);
        changed.put(name, value);
        return changed;
    }
}
