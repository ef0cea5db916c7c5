package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.MessageEnvelope;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.testing.ChildJvm;
import io.outboxkit.testing.PostgresExtension;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class ListCommandTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createBoth, 4);

    private Cli cli;

    @BeforeEach
    void emptyOutbox() {
        db.truncateAll();
        Outbox.clearNamed(db);
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
        assertThat(lines).last().isEqualTo("2 PENDING messages in \"outbox\"");
        assertThat(run.out()).doesNotContain(dead.toString(), published.toString());
    }

    @Test
    void json_lists_a_message_whose_payload_nests_deeper_than_jacksons_default_limit_and_those_after_it() throws Exception {
        // jsonb stores (and the consumer reads) nesting far deeper than Jackson's default 1,000
        String payload = "[".repeat(1500) + "]".repeat(1500);
        UUID deep = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h,
                NewMessage.of("Order", UUID.randomUUID().toString(), "OrderCreated", payload)));
        UUID after = Outbox.write(db);

        Cli.Run run = cli.run("list", "--status", "pending", "--json");

        assertThat(run.err()).as("stderr").isEmpty();
        assertThat(run.status()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines).hasSize(2);
        JsonNode first = Jsons.messageMapper().readTree(lines.get(0));
        assertThat(first.get("id").asText()).isEqualTo(deep.toString());
        assertThat(first.get("status").asText()).isEqualTo("PENDING");
        assertThat(Jsons.messageMapper().writeValueAsString(first.get("payload"))).isEqualTo(payload);
        assertThat(Jsons.messageMapper().readTree(lines.get(1)).get("id").asText()).isEqualTo(after.toString());
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
        assertThat(lines.get(2)).isEqualTo("1 DEAD message in \"outbox\"");
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
    void limit_keeps_the_oldest_and_says_where_the_rest_begin_which_after_continues() {
        UUID oldest = Outbox.write(db);
        UUID second = Outbox.write(db);
        UUID third = Outbox.write(db);
        long oldestSeq = sequence(oldest);

        Cli.Run run = cli.run("list", "--status", "pending", "--limit", "1");

        assertThat(run.status()).isZero();
        assertThat(run.out()).contains(oldest.toString()).contains("1 PENDING message in \"outbox\" (the oldest 1; "
                + "more exist: continue with --after " + oldestSeq + ", or raise --limit)");
        assertThat(run.out().lines()).hasSize(3);

        Cli.Run rest = cli.run("list", "--status", "pending", "--after", Long.toString(oldestSeq));

        assertThat(rest.status()).isZero();
        assertThat(rest.out().lines()).hasSize(4).last()
                .isEqualTo("2 PENDING messages after SEQ " + oldestSeq + " in \"outbox\"");
        assertThat(rest.out()).contains(second.toString(), third.toString()).doesNotContain(oldest.toString());
    }

    /** With --after the messages listed are the next ones from there, not the oldest of the status. */
    @Test
    void limit_with_after_says_the_next_not_the_oldest() {
        UUID oldest = Outbox.write(db);
        UUID second = Outbox.write(db);
        Outbox.write(db);
        long oldestSeq = sequence(oldest);

        Cli.Run run = cli.run("list", "--status", "pending", "--after", Long.toString(oldestSeq), "--limit", "1");

        assertThat(run.status()).isZero();
        assertThat(run.out().lines()).last().isEqualTo("1 PENDING message after SEQ " + oldestSeq + " in \"outbox\""
                + " (the next 1; more exist: continue with --after " + sequence(second) + ", or raise --limit)");
    }

    @Test
    void json_cut_at_the_limit_says_on_stderr_where_the_rest_begin_so_a_script_can_page_through_all() {
        List<UUID> dead = new java.util.ArrayList<>();
        for (int i = 0; i < 5; i++) {
            UUID id = Outbox.write(db);
            Outbox.markDead(db, id, "boom");
            dead.add(id);
        }

        Cli.Run first = cli.run("list", "--status", "dead", "--json", "--limit", "3");

        assertThat(first.status()).isZero();
        assertThat(first.out().lines()).hasSize(3);
        long last = sequence(dead.get(2));
        assertThat(first.errLines()).containsExactly("replay-cli list: stopped at --limit 3 after 3 DEAD messages; "
                + "more exist: continue with --after " + last);

        Cli.Run rest = cli.run("list", "--status", "dead", "--json", "--limit", "3", "--after", Long.toString(last));

        assertThat(rest.status()).isZero();
        assertThat(rest.err()).as("the rest fit: nothing left out").isEmpty();
        assertThat(rest.out().lines().map(ListCommandTest::id)).containsExactly(dead.get(3), dead.get(4));
    }

    @Test
    void the_table_reads_no_payload_so_a_small_heap_lists_messages_larger_than_it() throws Exception {
        int messages = 60;
        writeDeadOfAMegabyteEach(messages);

        try (ChildJvm cli = ChildJvm.start(ReplayCli.class.getName(), TestDatabases.env(db), List.of(SMALL_HEAP),
                "list", "--status", "dead", "--limit", Integer.toString(messages))) {
            assertThat(cli.waitFor(CHILD_DEADLINE)).as(cli::output).isZero();
            assertThat(cli.output()).contains(messages + " DEAD messages in \"outbox\"");
        }
    }

    @Test
    void json_reads_the_payloads_a_page_at_a_time_so_a_small_heap_prints_more_than_it_holds() throws Exception {
        int messages = 40; // 40 MB of payloads, beside a 48 MB heap
        writeDeadOfAMegabyteEach(messages);

        try (ChildJvm cli = ChildJvm.start(ReplayCli.class.getName(), TestDatabases.env(db), List.of(SMALL_HEAP),
                "list", "--status", "dead", "--json", "--limit", Integer.toString(messages))) {
            assertThat(cli.waitFor(CHILD_DEADLINE)).as(() -> cli.output().lines().filter(l -> l.length() < 500)
                    .collect(java.util.stream.Collectors.joining("\n"))).isZero();
            assertThat(cli.output().lines().filter(line -> line.startsWith("{")).count()).isEqualTo(messages);
        }
    }

    @Test
    void json_that_runs_out_of_memory_says_in_one_line_to_lower_the_limit() throws Exception {
        writeDead(8, 8_000_000); // a page of them, 64 MB, beside a 48 MB heap

        try (ChildJvm cli = ChildJvm.start(ReplayCli.class.getName(), TestDatabases.env(db), List.of(SMALL_HEAP),
                "list", "--status", "dead", "--json", "--limit", "8")) {
            assertThat(cli.waitFor(CHILD_DEADLINE)).as(cli::output).isEqualTo(ReplayCli.EXIT_FAILED);
            assertThat(cli.output().lines().filter(line -> line.startsWith("replay-cli list: ")))
                    .singleElement().asString().contains("out of memory after 0 DEAD messages", "lower --limit");
            assertThat(cli.output()).doesNotContain("\tat ", "Exception");
        }
    }

    @Test
    void the_name_options_list_the_outbox_they_name() {
        UUID inDefault = Outbox.write(db);
        UUID named = Outbox.writeNamed(db);

        Cli.Run run = cli.run(Outbox.named("list", "--status", "pending"));

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out()).contains(named.toString()).doesNotContain(inDefault.toString())
                .endsWith("1 PENDING message in \"messaging\".\"orders_outbox\"" + System.lineSeparator());
    }

    @Test
    void an_empty_status_says_so() {
        Cli.Run run = cli.run("list", "--status", "dead");

        assertThat(run.status()).isZero();
        assertThat(run.out()).isEqualTo("0 DEAD messages in \"outbox\"" + System.lineSeparator());
    }

    private static final String SMALL_HEAP = "-Xmx48m";
    private static final java.time.Duration CHILD_DEADLINE = java.time.Duration.ofSeconds(60);

    /** DEAD messages whose payloads are a megabyte each. */
    private static void writeDeadOfAMegabyteEach(int messages) {
        writeDead(messages, 1_000_000);
    }

    /** DEAD messages whose payloads are {@code characters} long (compressed to nearly nothing as stored). */
    private static void writeDead(int messages, int characters) {
        db.jdbi().useHandle(h -> h.execute("""
                INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, status, attempts, last_error)
                SELECT gen_random_uuid(), 'Order', 'o' || i, 'OrderCreated', jsonb_build_object('blob', repeat('x', ?)),
                       'DEAD', 5, 'gave up'
                FROM generate_series(1, ?) AS i""", characters, messages));
    }

    private static long sequence(UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT seq FROM outbox WHERE id = :id").bind("id", id)
                .mapTo(Long.class).one());
    }

    private static UUID id(String jsonLine) {
        try {
            return UUID.fromString(Jsons.mapper().readTree(jsonLine).get("id").asText());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
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
