package io.outboxkit.orders;

import static io.outboxkit.app.testing.TestDatabases.strings;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Values that look like SQL are stored as values: an Idempotency-Key made of SQL is kept verbatim,
 * replays, and harms nothing; SQL where a UUID or a number belongs is refused before any SQL runs.
 * After each test every table of the schema still exists and holds exactly what the requests made.
 */
class SqlInjectionTest {

    @RegisterExtension
    static final io.outboxkit.testing.PostgresExtension db =
            new io.outboxkit.testing.PostgresExtension(OrderServiceMain.SCHEMA::apply, 4);

    static final List<String> INJECTIONS = List.of(
            "'; DROP TABLE orders; --",
            "'); DELETE FROM outbox; --",
            "' OR '1'='1",
            "\\'; TRUNCATE idempotency_keys; --",
            "$$; DROP TABLE idempotency_keys; $$",
            "1; UPDATE orders SET amount = 0.01; --",
            "x' UNION SELECT key, request_hash, response_code, response_body, created_at FROM idempotency_keys --",
            "`\"';:--/*");
    static final List<String> TABLES = List.of("idempotency_keys", "order_service_schema_history", "orders", "outbox",
            "outbox_schema_history", "outbox_wakeup", "processed_messages");

    private static RunningOrderService service;
    private static Rows rows;

    @BeforeAll
    static void start() {
        service = RunningOrderService.start(db);
        rows = new Rows(db.jdbi());
    }

    @AfterAll
    static void stop() {
        service.close();
    }

    @AfterEach
    void every_table_still_exists() {
        assertThat(strings(db, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"))
                .containsExactlyElementsOf(TABLES);
    }

    @Test
    void an_idempotency_key_made_of_sql_is_stored_verbatim_and_replays() {
        db.truncateAll();
        List<String> keys = new ArrayList<>();
        for (String injection : INJECTIONS) {
            String key = injection + " #" + keys.size();
            String user = UUID.randomUUID().toString();

            HttpResponse<String> first = service.createOrder(user, "12.34", "Idempotency-Key", key);
            HttpResponse<String> again = service.createOrder(user, "12.34", "Idempotency-Key", key);

            assertThat(first.statusCode()).as(key).isEqualTo(201);
            assertThat(again.statusCode()).as(key).isEqualTo(201);
            assertThat(again.body()).isEqualTo(first.body());
            assertThat(again.headers().firstValue("Idempotent-Replayed")).hasValue("true");
            assertThat(rows.ordersOf(user)).isEqualTo(1);
            keys.add(key);
        }

        assertThat(rows.count("orders")).isEqualTo(INJECTIONS.size());
        assertThat(rows.count("outbox")).isEqualTo(INJECTIONS.size());
        assertThat(strings(db, "SELECT key FROM idempotency_keys")).containsExactlyInAnyOrderElementsOf(keys);
        assertThat(strings(db, "SELECT amount::text FROM orders")).hasSize(INJECTIONS.size()).containsOnly("12.34");
    }

    @Test
    void a_transition_keyed_with_sql_changes_that_order_only() {
        db.truncateAll();
        String other = RunningOrderService.json(service.createOrder(UUID.randomUUID().toString(), "1")).get("id").asText();
        for (String injection : INJECTIONS) {
            String id = RunningOrderService.json(service.createOrder(UUID.randomUUID().toString(), "5")).get("id").asText();

            HttpResponse<String> pay = service.post("/orders/" + id + "/pay", null, "Idempotency-Key", injection);
            HttpResponse<String> retry = service.post("/orders/" + id + "/pay", null, "Idempotency-Key", injection);

            assertThat(pay.statusCode()).as(injection).isEqualTo(200);
            assertThat(retry.body()).isEqualTo(pay.body());
            assertThat(rows.status(id)).isEqualTo("PAID");
            assertThat(rows.eventsOf(id)).extracting(Rows.Event::eventType).containsExactly("OrderCreated", "OrderPaid");
            db.jdbi().useHandle(h -> h.execute("DELETE FROM idempotency_keys")); // each injection is tried as a new key
        }
        assertThat(rows.status(other)).isEqualTo("CREATED");
        assertThat(rows.count("orders")).isEqualTo(INJECTIONS.size() + 1);
        assertThat(rows.count("outbox")).isEqualTo(2L * INJECTIONS.size() + 1);
    }

    @Test
    void sql_where_a_uuid_or_a_number_belongs_is_refused_and_writes_nothing() {
        db.truncateAll();
        for (String injection : INJECTIONS) {
            String text = injection.replace("\\", "\\\\").replace("\"", "\\\"");
            String path = URLEncoder.encode(injection, StandardCharsets.UTF_8).replace("+", "%20");

            assertThat(service.post("/orders", "{\"user_id\": \"" + text + "\", \"amount\": 1}").statusCode()).isEqualTo(400);
            assertThat(service.post("/orders", "{\"user_id\": \"" + UUID.randomUUID() + "\", \"amount\": \"" + text + "\"}")
                    .statusCode()).isEqualTo(400);
            assertThat(service.get("/orders/" + path).statusCode()).isEqualTo(400);
            assertThat(service.post("/orders/" + path + "/cancel", null).statusCode()).isEqualTo(400);
        }
        assertThat(rows.count("orders")).isZero();
        assertThat(rows.count("outbox")).isZero();
        assertThat(rows.count("idempotency_keys")).isZero();
    }
}
