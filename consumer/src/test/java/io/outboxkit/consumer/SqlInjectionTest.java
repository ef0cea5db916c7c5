package io.outboxkit.consumer;

import static io.outboxkit.app.testing.TestDatabases.count;
import static io.outboxkit.app.testing.TestDatabases.strings;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.testing.PostgresExtension;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Values that look like SQL are stored and compared as values: a consumer whose name is SQL
 * records and counts its messages under exactly that name; envelopes with SQL in every text field
 * are processed once with exactly their effect; SQL where a UUID belongs is refused. After each
 * test every table still exists.
 */
class SqlInjectionTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply, 4);

    static final String SQL_NAME = "loyalty'; DROP TABLE processed_messages; --";
    static final List<String> INJECTIONS = List.of("'; DROP TABLE customer_totals; --", "'); DELETE FROM processed_messages; --",
            "' OR '1'='1", "$$; TRUNCATE consumer_order_status; $$", "\\'; DROP TABLE outbox; --", "`\"';:--/*");
    static final List<String> TABLES = List.of("consumer_order_status", "consumer_ordering_violations", "consumer_schema_history",
            "customer_totals", "outbox", "outbox_schema_history", "outbox_wakeup", "processed_messages");

    @RegisterExtension
    static final RunningConsumer consumer = new RunningConsumer(db, 4, SQL_NAME);

    @AfterEach
    void every_table_still_exists() {
        assertThat(strings(db, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"))
                .containsExactlyElementsOf(TABLES);
    }

    @Test
    void a_consumer_named_with_sql_records_its_messages_under_exactly_that_name() {
        db.truncateAll();
        UUID user = UUID.randomUUID();
        ObjectNode created = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), user, "10.00");

        assertThat(consumer.api().postJson("/messages", created).body().path("status").asText()).isEqualTo("processed");
        assertThat(consumer.api().postJson("/messages", created).body().path("status").asText()).isEqualTo("duplicate");

        assertThat(strings(db, "SELECT consumer FROM processed_messages")).containsExactly(SQL_NAME);
        assertThat(consumer.api().get("/stats").body().path("consumer").asText()).isEqualTo(SQL_NAME);
        assertThat(consumer.api().get("/stats").body().path("processed").asLong()).isEqualTo(1);
        assertThat(consumer.api().get("/customers/" + user).body().path("total_amount").decimalValue()).isEqualByComparingTo("10.00");
    }

    @Test
    void envelopes_with_sql_in_every_text_field_are_processed_once_with_exactly_their_effect() {
        db.truncateAll();
        UUID user = UUID.randomUUID();
        int orders = 0;
        for (String injection : INJECTIONS) {
            UUID order = UUID.randomUUID();
            ObjectNode created = Envelopes.orderCreated(UUID.randomUUID(), 1, order, user, "1.25");
            created.put("aggregate_type", injection);
            created.putObject("headers").put(injection, injection).put("trace", injection);
            ((ObjectNode) created.get("payload")).put("status", injection).put(injection, injection);
            ObjectNode unknown = Envelopes.envelope(UUID.randomUUID(), 2, order, injection, (ObjectNode) created.get("payload"));
            unknown.put("aggregate_id", injection);

            assertThat(consumer.api().postJson("/messages", created).status()).as(injection).isEqualTo(200);
            assertThat(consumer.api().postJson("/messages", unknown).status()).as("event type %s", injection).isEqualTo(200);
            orders++;
        }

        assertThat(strings(db, "SELECT consumer FROM processed_messages")).hasSize(2 * INJECTIONS.size()).containsOnly(SQL_NAME);
        assertThat(count(db, "SELECT count(*) FROM customer_totals")).isEqualTo(1);
        assertThat(consumer.api().get("/customers/" + user).body().path("order_count").asLong()).isEqualTo(orders);
        assertThat(consumer.api().get("/customers/" + user).body().path("total_amount").decimalValue())
                .isEqualByComparingTo(new java.math.BigDecimal("1.25").multiply(java.math.BigDecimal.valueOf(orders)));
        assertThat(count(db, "SELECT count(*) FROM consumer_order_status WHERE status = 'CREATED'")).isEqualTo(orders);
    }

    @Test
    void sql_where_a_uuid_belongs_is_refused_and_writes_nothing() {
        db.truncateAll();
        for (String injection : INJECTIONS) {
            String path = URLEncoder.encode(injection, StandardCharsets.UTF_8).replace("+", "%20");
            ObjectNode badUser = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), UUID.randomUUID(), "1.00");
            ((ObjectNode) badUser.get("payload")).put("user_id", injection);
            ObjectNode badId = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), UUID.randomUUID(), "1.00");
            badId.put("id", injection);

            assertThat(consumer.api().get("/customers/" + path).status()).isEqualTo(400);
            assertThat(consumer.api().get("/orders/" + path + "/status").status()).isEqualTo(400);
            assertThat(consumer.api().postJson("/messages", badUser).status()).isEqualTo(422);
            assertThat(consumer.api().postJson("/messages", badId).status()).isEqualTo(400);
        }
        assertThat(count(db, "SELECT (SELECT count(*) FROM processed_messages) + (SELECT count(*) FROM customer_totals) "
                + "+ (SELECT count(*) FROM consumer_order_status)")).isZero();
    }
}
