package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.MessageEnvelope;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class ListCommandTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 4);

    private Cli cli;

    @BeforeEach
    void emptyOutbox() {
        db.truncateAll();
        cli = Cli.against(db);
    }

    @Test
    void lists_the_messages_of_the_status_asked_for_oldest_first() {
        UUID first = Outbox.write(db);
        UUID second = Outbox.write(db);
        UUID dead = Outbox.write(db);
        Outbox.markDead(db, dead, "HTTP 500 from the consumer");
        UUID published = Outbox.write(db);
        Outbox.markPublished(db, published);

        Cli.Run run = cli.run("list", "--status", "pending");

        assertThat(run.status()).isZero();
        assertThat(run.err()).isEmpty();
        List<String> lines = run.out().lines().toList();
        assertThat(lines.get(0)).startsWith("ID").contains("SEQ", "AGGREGATE", "EVENT", "ATTEMPTS", "STATUS",
                "AVAILABLE/PUBLISHED", "LAST ERROR");
        assertThat(lines.get(1)).startsWith(first.toString()).contains("Order/", "OrderCreated", "PENDING");
        assertThat(lines.get(2)).startsWith(second.toString());
        assertThat(lines).last().isEqualTo("2 PENDING messages");
        assertThat(run.out()).doesNotContain(dead.toString(), published.toString());
    }

    @Test
    void dead_messages_show_their_attempts_and_last_error() {
        Outbox.write(db);
        UUID dead = Outbox.write(db);
        Outbox.markDead(db, dead, "HTTP 500 from the consumer");

        Cli.Run run = cli.run("list", "--status", "DEAD");

        assertThat(run.status()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(1)).startsWith(dead.toString()).contains("DEAD", " 5 ", "HTTP 500 from the consumer");
        assertThat(lines.get(2)).isEqualTo("1 DEAD message");
    }

    @Test
    void a_long_last_error_is_truncated_to_keep_one_line_per_message() {
        UUID dead = Outbox.write(db);
        Outbox.markDead(db, dead, "x".repeat(500) + "\nsecond line");

        Cli.Run run = cli.run("list", "--status", "dead");

        String row = run.out().lines().filter(l -> l.startsWith(dead.toString())).findFirst().orElseThrow();
        assertThat(row).endsWith("...").doesNotContain("second line");
        assertThat(run.out().lines()).hasSize(3);
    }

    @Test
    void published_messages_show_when_they_were_published() {
        UUID published = Outbox.write(db);
        Outbox.markPublished(db, published);

        Cli.Run run = cli.run("list", "--status", "published");

        assertThat(run.status()).isZero();
        assertThat(run.out()).contains(published.toString(), "PUBLISHED").containsPattern("\\d{4}-\\d\\d-\\d\\dT");
    }

    @Test
    void limit_keeps_the_oldest_and_says_more_may_exist() {
        UUID oldest = Outbox.write(db);
        Outbox.write(db);
        Outbox.write(db);

        Cli.Run run = cli.run("list", "--status", "pending", "--limit", "1");

        assertThat(run.status()).isZero();
        assertThat(run.out()).contains(oldest.toString()).contains("1 PENDING message (the oldest 1; more may exist");
        assertThat(run.out().lines()).hasSize(3);
    }

    @Test
    void an_empty_status_says_so() {
        Cli.Run run = cli.run("list", "--status", "dead");

        assertThat(run.status()).isZero();
        assertThat(run.out()).isEqualTo("0 DEAD messages" + System.lineSeparator());
    }

    @Test
    void json_prints_one_envelope_per_line_with_the_outbox_state() throws Exception {
        UUID dead = Outbox.write(db);
        Outbox.markDead(db, dead, "boom");
        UUID other = Outbox.write(db);
        Outbox.markDead(db, other, "bang");

        Cli.Run run = cli.run("list", "--status", "dead", "--json");

        assertThat(run.status()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines).hasSize(2);
        OutboxMessage message = MessageEnvelope.parse(lines.get(0).getBytes(StandardCharsets.UTF_8));
        assertThat(message.id()).isEqualTo(dead);
        assertThat(message.eventType()).isEqualTo("OrderCreated");
        JsonNode json = Jsons.mapper().readTree(lines.get(0));
        assertThat(json.get("status").asText()).isEqualTo("DEAD");
        assertThat(json.get("last_error").asText()).isEqualTo("boom");
        assertThat(json.get("attempts").asInt()).isEqualTo(5);
        assertThat(json.get("payload").get("amount").decimalValue()).isEqualByComparingTo("42.50");
        assertThat(Jsons.mapper().readTree(lines.get(1)).get("id").asText()).isEqualTo(other.toString());
    }
}
