package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Scope;
import io.outboxkit.core.internal.Json;
import io.outboxkit.core.spi.Texts;
import io.outboxkit.core.spi.TransportHeaders;
import io.outboxkit.testing.PostgresExtension;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class OutboxWriterTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    private final OutboxWriter writer = OutboxWriter.create();

    /** The business table a service writes beside its events. */
    @BeforeAll
    static void create_a_business_table() {
        db.jdbi().useHandle(h -> h.execute("""
                CREATE TABLE orders (id uuid PRIMARY KEY, user_id uuid NOT NULL, amount numeric(10,2) NOT NULL,
                                     status text NOT NULL)"""));
    }

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @Test
    void a_rolled_back_business_transaction_leaves_no_outbox_row() {
        UUID orderId = UUID.randomUUID();
        try (Handle h = db.jdbi().open()) {
            h.begin();
            h.execute("INSERT INTO orders (id, user_id, amount, status) VALUES (?, ?, 10, 'CREATED')", orderId, UUID.randomUUID());
            writer.write(h, NewMessage.of("Order", orderId.toString(), "OrderCreated", "{}"));
            h.rollback();
        }
        assertThat(Outbox.total(db.jdbi())).isZero();
        long orders = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM orders").mapTo(Long.class).one());
        assertThat(orders).isZero();
    }

    @Test
    void a_committed_business_transaction_always_has_its_outbox_row() {
        UUID orderId = UUID.randomUUID();
        UUID messageId = db.jdbi().inTransaction(h -> {
            h.execute("INSERT INTO orders (id, user_id, amount, status) VALUES (?, ?, 10, 'CREATED')", orderId, UUID.randomUUID());
            return writer.write(h, NewMessage.of("Order", orderId.toString(), "OrderCreated", "{\"amount\":10}")
                    .withHeader("trace-id", "abc"));
        });
        Map<String, Object> row = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT aggregate_id, event_type, payload::text AS payload, headers->>'trace-id' AS trace, status, attempts "
                        + "FROM outbox WHERE id = ?").bind(0, messageId).mapToMap().one());
        assertThat(row).containsEntry("aggregate_id", orderId.toString())
                .containsEntry("event_type", "OrderCreated")
                .containsEntry("payload", "{\"amount\": 10}")
                .containsEntry("trace", "abc")
                .containsEntry("status", "PENDING")
                .containsEntry("attempts", 0);
    }

    @Test
    void an_exception_after_the_write_rolls_back_both_rows() {
        UUID orderId = UUID.randomUUID();
        assertThatThrownBy(() -> db.jdbi().useTransaction(h -> {
            h.execute("INSERT INTO orders (id, user_id, amount, status) VALUES (?, ?, 10, 'CREATED')", orderId, UUID.randomUUID());
            writer.write(h, NewMessage.of("Order", orderId.toString(), "OrderCreated", "{}"));
            throw new IllegalStateException("business rule failed after the write");
        })).hasMessageContaining("business rule failed");
        assertThat(Outbox.total(db.jdbi())).isZero();
    }

    @Test
    void writing_outside_a_transaction_is_refused_with_a_clear_exception() {
        try (Handle h = db.jdbi().open()) {
            assertThatThrownBy(() -> writer.write(h, Outbox.message("a", 1)))
                    .isInstanceOf(NotInTransactionException.class)
                    .hasMessageContaining("open transaction");
        }
        assertThat(Outbox.total(db.jdbi())).isZero();
    }

    @Test
    void a_plain_jdbc_connection_works_in_a_transaction_and_is_refused_in_auto_commit() throws Exception {
        try (Connection c = db.dataSource().getConnection()) {
            c.setAutoCommit(true);
            assertThatThrownBy(() -> writer.write(c, Outbox.message("a", 1)))
                    .isInstanceOf(NotInTransactionException.class)
                    .hasMessageContaining("setAutoCommit(false)");
            c.setAutoCommit(false);
            writer.writeAll(c, List.of(Outbox.message("a", 1), Outbox.message("a", 2)));
            c.commit();
        }
        assertThat(Outbox.count(db.jdbi(), "PENDING")).isEqualTo(2);
    }

    @Test
    void write_all_keeps_list_order_in_the_sequence() {
        List<UUID> ids = db.jdbi().inTransaction(h -> writer.writeAll(h,
                List.of(Outbox.message("x", 1), Outbox.message("x", 2), Outbox.message("x", 3))));
        List<UUID> bySequence = db.jdbi().withHandle(h -> h.createQuery("SELECT id FROM outbox ORDER BY seq")
                .mapTo(UUID.class).list());
        assertThat(bySequence).containsExactlyElementsOf(ids);
    }

    @Test
    void ids_are_time_ordered_uuid_v7() {
        List<UUID> ids = db.jdbi().inTransaction(h -> writer.writeAll(h,
                List.of(Outbox.message("x", 1), Outbox.message("x", 2), Outbox.message("x", 3))));
        assertThat(ids).allSatisfy(id -> assertThat(id.version()).isEqualTo(7));
        assertThat(ids).isSorted();
    }

    @Test
    void a_payload_that_is_not_json_fails_the_write_and_the_transaction_keeps_nothing() {
        for (String payload : List.of("{not json", "{} {}", "'text'")) {
            assertThatThrownBy(() -> db.jdbi().useTransaction(h -> writer.writeAll(h,
                    List.of(Outbox.message("x", 1), NewMessage.of("Order", "1", "OrderCreated", payload)))))
                    .as(payload).isInstanceOf(OutboxException.class).hasMessageContaining("a payload is not valid JSON");
            assertThatThrownBy(() -> db.jdbi().useTransaction(h -> writer.write(h,
                    NewMessage.of("Order", "1", "OrderCreated", payload))))
                    .as(payload).isInstanceOf(OutboxException.class).hasMessageContaining("a payload is not valid JSON");
        }
        assertThat(Outbox.total(db.jdbi())).isZero();
    }

    @Test
    void the_payload_is_delivered_as_the_same_json_value_in_jsonbs_text_form_not_as_the_text_written() {
        // keys out of jsonb's order, a duplicate key, escapes, no spaces: a signature over this text fails
        String written = "{\"sig\":\"ab=\\u002F\",\"amount\":1e2,\"amount\":100.0,\"name\":\"caf\\u00e9\"}";
        String asJsonbPrintsIt = "{\"sig\": \"ab=/\", \"name\": \"caf\u00e9\", \"amount\": 100.0}";
        UUID id = db.jdbi().inTransaction(h -> writer.write(h, NewMessage.of("Order", "1", "OrderCreated", written)));
        List<String> published = new CopyOnWriteArrayList<>();

        assertThat(OutboxPoller.builder(db.jdbi(), m -> published.add(m.payload())).build().pollOnce()).isOne();

        assertThat(published).as("delivered by the poller").containsExactly(asJsonbPrintsIt);
        assertThat(OutboxAdmin.create(db.jdbi()).find(id).orElseThrow().message().payload())
                .as("read by an operator").isEqualTo(asJsonbPrintsIt);
        boolean sameValue = db.jdbi().withHandle(h -> h.createQuery("SELECT CAST(:delivered AS jsonb) = CAST(:written AS jsonb)")
                .bind("delivered", asJsonbPrintsIt).bind("written", written).mapTo(Boolean.class).one());
        assertThat(sameValue).as("the same JSON value (the duplicate key's last value kept)").isTrue();
    }

    @Test
    void headers_keep_any_text_and_come_back_as_written() {
        Map<String, String> headers = Map.of("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "quote\"back\\slash", "line\nbreak \u00e9 \u2028 </script>", "empty", "");
        UUID id = db.jdbi().inTransaction(h -> writer.write(h, new NewMessage("Order", "1", "OrderCreated", "{}", headers)));
        assertThat(OutboxAdmin.create(db.jdbi()).find(id).orElseThrow().message().headers()).isEqualTo(headers);
    }

    @Test
    void a_message_with_invalid_fields_is_refused_before_it_reaches_the_database() {
        assertThatThrownBy(() -> NewMessage.of("Order", "1", "OrderCreated", " "))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("payload");
        assertThatThrownBy(() -> NewMessage.of("Order", "1", "OrderCreated", "{}").withHeader("", "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("header name");
        assertThatThrownBy(() -> NewMessage.of(" ", "1", "OrderCreated", "{}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("aggregateType");
        assertThatThrownBy(() -> NewMessage.of("Order", "", "OrderCreated", "{}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("aggregateId");
        assertThatThrownBy(() -> NewMessage.of("Order", "1", null, "{}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("eventType");
    }

    @Test
    void a_payload_over_the_limit_is_refused_naming_its_size_and_the_limit_and_nothing_of_the_batch_is_written() {
        OutboxWriter small = OutboxWriter.builder().maxPayloadBytes(20).build();
        String fits = "{\"s\":\"" + "x".repeat(12) + "\"}"; // 20 bytes
        String over = "{\"s\":\"" + "\u00e9".repeat(7) + "\"}"; // 15 characters, 22 bytes of UTF-8
        try (Handle h = db.jdbi().open()) {
            h.begin();
            assertThatThrownBy(() -> small.writeAll(h, List.of(NewMessage.of("Order", "1", "OrderCreated", fits),
                    NewMessage.of("Order", "1", "OrderPaid", over))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("message 2 of 2").hasMessageContaining("OrderPaid")
                    .hasMessageContaining("payload of 22 bytes").hasMessageContaining("maxPayloadBytes of 20");
            small.write(h, NewMessage.of("Order", "1", "OrderCreated", fits)); // the transaction is still usable
            h.commit();
        }
        assertThat(Outbox.total(db.jdbi())).isEqualTo(1);
        assertThat(OutboxWriter.create().maxPayloadBytes()).isEqualTo(OutboxWriter.DEFAULT_MAX_PAYLOAD_BYTES).isEqualTo(1024 * 1024);
        assertThatThrownBy(() -> OutboxWriter.builder().maxPayloadBytes(0).build())
                .isInstanceOf(InvalidOptionException.class).hasMessageContaining("maxPayloadBytes must be 1 to");
    }

    @Test
    void headers_over_the_limit_are_refused_naming_their_size_and_the_limit_and_nothing_of_the_batch_is_written() throws Exception {
        OutboxWriter small = OutboxWriter.builder().maxHeaderBytes(20).build();
        NewMessage fits = NewMessage.of("Order", "1", "OrderCreated", "{}").withHeader("a", "x".repeat(12)); // {"a":"xxxxxxxxxxxx"}: 20 bytes
        NewMessage over = NewMessage.of("Order", "1", "OrderPaid", "{}").withHeader("a", "\u00e9".repeat(7)); // 22 bytes of UTF-8
        try (Handle h = db.jdbi().open()) {
            h.begin();
            assertThatThrownBy(() -> small.writeAll(h, List.of(fits, over)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("message 2 of 2").hasMessageContaining("OrderPaid of Order 1")
                    .hasMessageContaining("headers of 22 bytes").hasMessageContaining("maxHeaderBytes of 20")
                    .hasMessageContaining("nothing was written").hasMessageContaining("OutboxWriter.builder().maxHeaderBytes(");
            small.write(h, fits); // the transaction is still usable
            h.commit();
        }
        try (Connection c = db.dataSource().getConnection()) {
            c.setAutoCommit(false);
            assertThatThrownBy(() -> small.write(c, over)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("headers of 22 bytes");
            c.commit();
        }
        assertThat(Outbox.total(db.jdbi())).isEqualTo(1);
        assertThatThrownBy(() -> OutboxWriter.builder().maxHeaderBytes(-1).build())
                .isInstanceOf(InvalidOptionException.class).hasMessageContaining("maxHeaderBytes must be 0 to");
        assertThatThrownBy(() -> OutboxWriter.builder().maxHeaderBytes(OutboxWriter.MAX_MAX_PAYLOAD_BYTES + 1).build())
                .isInstanceOf(InvalidOptionException.class).hasMessageContaining("maxHeaderBytes must be 0 to");
    }

    @Test
    void by_default_headers_are_limited_to_8_KiB_whether_one_large_header_or_thousands_of_small_ones() {
        assertThat(writer.maxHeaderBytes()).isEqualTo(OutboxWriter.DEFAULT_MAX_HEADER_BYTES).isEqualTo(8 * 1024);
        NewMessage large = NewMessage.of("Order", "1", "OrderCreated", "{}").withHeader("blob", "x".repeat(8 * 1024));
        Map<String, String> many = IntStream.range(0, 2_000).boxed().collect(Collectors.toMap(i -> "h" + i, i -> ""));
        NewMessage numerous = new NewMessage("Order", "2", "OrderCreated", "{}", many);
        // Counted as sent, escapes included: 1,500 control characters are 9,000 bytes of JSON.
        NewMessage escaped = NewMessage.of("Order", "3", "OrderCreated", "{}").withHeader("c", "\u0001".repeat(1_500));
        NewMessage within = NewMessage.of("Order", "4", "OrderCreated", "{}").withHeader("d", "x".repeat(8 * 1024 - 8));
        for (NewMessage refused : List.of(large, numerous, escaped)) {
            assertThatThrownBy(() -> db.jdbi().useTransaction(h -> writer.writeAll(h, List.of(within, refused))))
                    .as(refused.aggregateId()).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("message 2 of 2").hasMessageContaining("maxHeaderBytes of 8192");
        }
        assertThat(Outbox.total(db.jdbi())).isZero();
        UUID id = db.jdbi().inTransaction(h -> writer.write(h, within)); // {"d":"x..."}: 8,192 bytes
        assertThat(OutboxAdmin.create(db.jdbi()).find(id).orElseThrow().message().headers()).isEqualTo(within.headers());
    }

    @Test
    void the_trace_context_the_writer_adds_is_not_counted_toward_the_header_limit() {
        OutboxWriter noHeaders = OutboxWriter.builder().maxHeaderBytes(0).build();
        SpanContext caller = SpanContext.create("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331",
                TraceFlags.getSampled(), TraceState.getDefault());
        UUID id;
        try (Scope ignored = Span.wrap(caller).makeCurrent()) {
            id = db.jdbi().inTransaction(h -> noHeaders.write(h, NewMessage.of("Order", "1", "OrderCreated", "{}")));
            assertThatThrownBy(() -> db.jdbi().useTransaction(h -> noHeaders.write(h,
                    NewMessage.of("Order", "1", "OrderPaid", "{}").withHeader("a", "b"))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxHeaderBytes of 0");
        }
        assertThat(OutboxAdmin.create(db.jdbi()).find(id).orElseThrow().message().headers())
                .containsEntry("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        assertThat(Outbox.total(db.jdbi())).isEqualTo(1);
    }

    @Test
    void headers_with_characters_outside_the_bmp_are_counted_as_the_utf8_bytes_sent_not_as_escapes() {
        // {"e":"<2,000 emoji>"}: 8 + 2,000 * 4 = 8,008 bytes as written and stored, within 8 KiB.
        NewMessage emoji = NewMessage.of("Order", "1", "OrderCreated", "{}").withHeader("e", "\uD83D\uDE00".repeat(2_000));
        assertThat(Json.writeHeaders(emoji.headers()).getBytes(StandardCharsets.UTF_8))
                .hasSize(8_008);
        UUID id = db.jdbi().inTransaction(h -> writer.write(h, emoji));
        assertThat(OutboxAdmin.create(db.jdbi()).find(id).orElseThrow().message().headers()).isEqualTo(emoji.headers());
    }

    @Test
    void the_header_count_is_the_utf8_length_of_the_json_text_the_writer_sends() {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("ascii", "plain text");
        headers.put("quote\"s", "a \"quoted\" \\ back\\slash / slash");
        headers.put("control", "\u0000\u0001\b\t\n\f\r\u001f\u007f");
        headers.put("latin-\u00e9", "\u00e9\u00fc\u00df");
        headers.put("cjk", "\u6f22\u5b57\u2028\u2029\ufeff\uffff");
        headers.put("emoji-\uD83D\uDE00", "\uD83D\uDE00\uD834\uDD1E\uDBFF\uDFFF");
        headers.put("", "");
        for (Map.Entry<String, String> one : headers.entrySet()) {
            Map<String, String> single = Map.of(one.getKey(), one.getValue());
            assertThat(Json.headersLength(single)).as(one.getKey())
                    .isEqualTo(Json.writeHeaders(single).getBytes(StandardCharsets.UTF_8).length);
        }
        assertThat(Json.headersLength(headers)).isEqualTo(Json.writeHeaders(headers).getBytes(StandardCharsets.UTF_8).length);
        assertThat(Json.headersLength(Map.of())).isEqualTo(Json.writeHeaders(Map.of()).getBytes(StandardCharsets.UTF_8).length);
    }

    @Test
    void the_error_names_the_largest_header_counted_as_json_like_the_total_with_its_name_shortened_whole() {
        OutboxWriter small = OutboxWriter.builder().maxHeaderBytes(100).build();
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("plain", "x".repeat(40)); // "plain":"x...": 50 bytes of JSON, 45 of name and value
        String controls = "n\u0001".repeat(40); // 80 chars, 280 once each control is escaped for the message
        headers.put(controls, ""); // 40 + 40 * 6 + 5 = 285 bytes of JSON, only 80 of name and value
        NewMessage message = new NewMessage("Order", "1", "OrderCreated", "{}", headers);
        long total = Json.headersLength(headers);
        assertThat(total).isEqualTo(2 + 50 + 1 + 285);
        String shown = TransportHeaders.ascii(Texts.cut(controls, 60)) + Texts.CUT_MARK; // 30 whole escapes
        assertThatThrownBy(() -> db.jdbi().useTransaction(h -> small.write(h, message)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("headers of " + total + " bytes")
                .hasMessageContaining("the largest \"" + shown + "\" of 285 bytes");
    }

    @Test
    void headers_one_byte_over_the_limit_are_refused_even_when_every_character_is_escaped() {
        // Every char escaped as six bytes is the worst case the writer's quick check assumes: then the
        // count equals that bound, quotes, colons, commas and braces included, so a bound short of
        // any of them would let these through.
        Map<String, String> two = new LinkedHashMap<>();
        two.put("\u0001", "\u0002".repeat(4));
        two.put("\u0003", "\u0004".repeat(4));
        List<NewMessage> at73 = List.of(
                NewMessage.of("Order", "1", "OrderCreated", "{}").withHeader("\u0001", "\u0002".repeat(10)),
                new NewMessage("Order", "2", "OrderCreated", "{}", two),
                NewMessage.of("Order", "3", "OrderCreated", "{}").withHeader("a", "x".repeat(65)),
                NewMessage.of("Order", "4", "OrderCreated", "{}").withHeader("e", "\uD83D\uDE00".repeat(16) + "x"));
        OutboxWriter just = OutboxWriter.builder().maxHeaderBytes(73).build();
        OutboxWriter under = OutboxWriter.builder().maxHeaderBytes(72).build();
        for (NewMessage message : at73) {
            assertThat(Json.headersLength(message.headers())).as(message.aggregateId()).isEqualTo(73);
            assertThatThrownBy(() -> db.jdbi().useTransaction(h -> under.write(h, message)))
                    .as(message.aggregateId()).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("headers of 73 bytes").hasMessageContaining("maxHeaderBytes of 72");
            db.jdbi().useTransaction(h -> just.write(h, message));
        }
        assertThat(Outbox.total(db.jdbi())).isEqualTo(at73.size());
    }
}
