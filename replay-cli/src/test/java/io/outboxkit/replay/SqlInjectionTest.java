package io.outboxkit.replay;

import static io.outboxkit.app.testing.TestDatabases.strings;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.app.testing.FakeConsumer.Reply;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Outbox messages full of SQL and terminal control sequences are handled as data: {@code list}
 * shows them (the table with control and format characters escaped, JSON exactly), {@code requeue
 * --id} moves exactly the one asked for, {@code duplicate --message-id} sends it byte for byte.
 * Every table still exists afterwards and the outbox holds exactly what it should.
 */
class SqlInjectionTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 4);

    static final List<String> INJECTIONS = List.of("'; DROP TABLE outbox; --", "'); UPDATE outbox SET status = 'DEAD'; --",
            "\u001b[2J\u001b[H' OR '1'='1", "\u202e$$; TRUNCATE outbox; $$", "\\'; DELETE FROM outbox; --\u0007");
    static final List<String> TABLES = List.of("outbox", "outbox_schema_history", "outbox_wakeup", "processed_messages");
    static final Pattern UNSAFE = Pattern.compile("[\\p{Cc}\\p{Cf}&&[^\\n]]");

    private final List<UUID> ids = new ArrayList<>();
    private Cli cli;

    @BeforeEach
    void anOutboxFullOfSql() {
        db.truncateAll();
        OutboxWriter writer = OutboxWriter.create();
        for (String injection : INJECTIONS) {
            String payload = Jsons.mapper().createObjectNode().put("note", injection).toString();
            ids.add(db.jdbi().inTransaction(h -> writer.write(h, NewMessage.of(injection, injection, injection, payload)
                    .withHeader(injection, injection))));
        }
        for (UUID id : ids) {
            Outbox.markDead(db, id, "HTTP 422: " + INJECTIONS.get(ids.indexOf(id)));
        }
        cli = Cli.against(db);
    }

    @AfterEach
    void every_table_still_exists_and_the_outbox_holds_every_message() {
        assertThat(strings(db, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"))
                .containsExactlyElementsOf(TABLES);
        assertThat(strings(db, "SELECT event_type FROM outbox ORDER BY seq")).containsExactlyElementsOf(INJECTIONS);
    }

    @Test
    void list_shows_every_message_as_data_with_nothing_that_drives_a_terminal() throws Exception {
        Cli.Run table = cli.run("list", "--status", "dead");
        Cli.Run json = cli.run("list", "--status", "dead", "--json");

        assertThat(table.status()).as(table.err()).isZero();
        assertThat(UNSAFE.matcher(table.out()).find()).as("a control character in: %s", table.out()).isFalse();
        assertThat(table.out()).contains("'; DROP TABLE outbox; --", "\\u001b[2J", "\\u202e", INJECTIONS.size() + " DEAD messages");
        assertThat(json.status()).isZero();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : json.out().lines().toList()) {
            lines.add(Jsons.mapper().readTree(line));
        }
        assertThat(lines).extracting(line -> line.get("event_type").asText()).containsExactlyElementsOf(INJECTIONS);
        assertThat(lines).extracting(line -> line.get("last_error").asText())
                .allSatisfy(error -> assertThat(error).startsWith("HTTP 422: "));
    }

    @Test
    void requeue_id_moves_exactly_that_message() {
        Cli.Run run = cli.run("requeue", "--id", ids.get(0).toString());

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(strings(db, "SELECT status FROM outbox ORDER BY seq")).containsExactly("PENDING", "DEAD", "DEAD", "DEAD", "DEAD");
    }

    @Test
    void duplicate_sends_the_stored_message_byte_for_byte_and_prints_it_safely() throws Exception {
        Outbox.markPublished(db, ids.get(2)); // duplicate sends only a delivered message
        try (FakeConsumer consumer = new FakeConsumer()) {
            consumer.answerInTurn(Reply.processed(), Reply.duplicate());
            Cli.Run run = cli.run("duplicate", "--message-id", ids.get(2).toString(), "--consumer-url", consumer.url());

            assertThat(run.status()).as(run.err()).isZero();
            assertThat(UNSAFE.matcher(run.out()).find()).as("a control character in: %s", run.out()).isFalse();
            JsonNode sent = consumer.received().get(0).envelope();
            assertThat(sent.get("event_type").asText()).isEqualTo(INJECTIONS.get(2));
            assertThat(sent.get("headers").get(INJECTIONS.get(2)).asText()).isEqualTo(INJECTIONS.get(2));
            assertThat(sent.get("payload").get("note").asText()).isEqualTo(INJECTIONS.get(2));
        }
    }
}
