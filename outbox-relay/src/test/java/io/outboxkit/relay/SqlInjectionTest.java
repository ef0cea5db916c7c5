package io.outboxkit.relay;

import static io.outboxkit.app.testing.TestDatabases.count;
import static io.outboxkit.app.testing.TestDatabases.strings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Database;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxEntry;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Values that look like SQL travel through the outbox as values: messages whose aggregate type and
 * id, event type, headers and payload strings are SQL are written, claimed by a relay whose name is
 * SQL (the lease owner), delivered byte for byte, and marked PUBLISHED; one the consumer refuses
 * with SQL in its error goes DEAD with that error recorded verbatim. The outbox then holds exactly
 * these messages and every table still exists.
 */
class SqlInjectionTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 12);

    static final String RELAY_NAME = "relay'; DROP TABLE outbox; --";
    static final String CONSUMER_ERROR = "{\"error\": \"'); DELETE FROM outbox WHERE ('1'='1\"}";
    static final List<String> INJECTIONS = List.of("'; DROP TABLE outbox; --", "'); DELETE FROM processed_messages; --",
            "' OR '1'='1", "$$; TRUNCATE outbox; $$", "\\'; UPDATE outbox SET status = 'DEAD'; --", "`\"';:--/*");
    static final List<String> TABLES = List.of("outbox", "outbox_schema_history", "outbox_wakeup", "processed_messages");

    @Test
    void sql_in_every_field_is_written_delivered_and_recorded_verbatim() throws Exception {
        TestOutbox outbox = new TestOutbox(db);
        List<NewMessage> messages = new ArrayList<>();
        for (String injection : INJECTIONS) {
            String payload = Jsons.mapper().createObjectNode().put("note", injection).put(injection, injection).toString();
            messages.add(NewMessage.of(injection, injection + UUID.randomUUID(), injection, payload)
                    .withHeader(injection, injection));
        }
        NewMessage poison = NewMessage.of("Order", UUID.randomUUID().toString(), "Poison", "{}");
        List<UUID> ids = outbox.writeAll(messages);
        UUID poisonId = outbox.writeAll(List.of(poison)).get(0);

        try (FakeConsumer consumer = new FakeConsumer(); Database database = TestDatabases.open(db, 8, ServiceSchema.outboxOnly(OutboxNames.DEFAULT))) {
            consumer.answer(request -> "Poison".equals(request.envelope().get("event_type").asText())
                    ? new FakeConsumer.Reply(422, CONSUMER_ERROR) : FakeConsumer.Reply.processed());
            try (Relay relay = Relay.start(database, TestRelays.config(consumer.url(), "RELAY_NAME", RELAY_NAME,
                    "MAX_ATTEMPTS", "1"))) {
                await().atMost(Duration.ofSeconds(20)).until(() -> ids.stream().allMatch(
                        id -> outbox.status(id) == MessageStatus.PUBLISHED) && outbox.status(poisonId) == MessageStatus.DEAD);
            }

            Map<UUID, JsonNode> delivered = consumer.received().stream()
                    .collect(Collectors.toMap(FakeConsumer.Received::id, FakeConsumer.Received::envelope, (a, b) -> a));
            for (int i = 0; i < ids.size(); i++) {
                String injection = INJECTIONS.get(i);
                JsonNode envelope = delivered.get(ids.get(i));
                assertThat(envelope.get("aggregate_type").asText()).isEqualTo(injection);
                assertThat(envelope.get("aggregate_id").asText()).startsWith(injection);
                assertThat(envelope.get("event_type").asText()).isEqualTo(injection);
                assertThat(envelope.get("headers").get(injection).asText()).isEqualTo(injection);
                assertThat(envelope.get("payload").get("note").asText()).isEqualTo(injection);
                assertThat(envelope.get("payload").get(injection).asText()).isEqualTo(injection);
                OutboxEntry stored = outbox.entry(ids.get(i));
                assertThat(stored.message().eventType()).isEqualTo(injection);
                assertThat(stored.message().headers()).containsEntry(injection, injection);
            }
        }

        OutboxEntry dead = outbox.entry(poisonId);
        assertThat(dead.lastError()).contains("'); DELETE FROM outbox WHERE ('1'='1");
        assertThat(count(db, "SELECT count(*) FROM outbox")).isEqualTo(INJECTIONS.size() + 1);
        assertThat(count(db, "SELECT count(*) FROM outbox WHERE status = 'PUBLISHED'")).isEqualTo(INJECTIONS.size());
        assertThat(strings(db, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"))
                .containsExactlyElementsOf(TABLES);
    }
}
