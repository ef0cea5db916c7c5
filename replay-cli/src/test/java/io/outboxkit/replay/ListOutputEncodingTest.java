package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.ChildJvm;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * replay-cli prints UTF-8 whatever the locale of the process that runs it. A container, a cron job
 * or an ssh session without a locale runs it with LANG=C, where the JVM's default charset is
 * US-ASCII and would print every non-ASCII character as '?'. {@code list --json} is for machines
 * (jq, a file kept for later): its JSON must hold the message's payload as stored.
 */
class ListOutputEncodingTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 4);

    private static final String TEXT = "Caf\u00e9 M\u00fcller \u65e5\u672c";

    @BeforeEach
    void oneMessageWithNonAsciiText() {
        db.truncateAll();
        db.jdbi().useTransaction(h -> OutboxWriter.create().write(h, NewMessage.of("Order", TEXT, "OrderCreated",
                Jsons.mapper().createObjectNode().put("note", TEXT).toString())));
    }

    @Test
    void list_json_keeps_a_payloads_non_ascii_text_under_a_c_locale() throws Exception {
        String out = listUnderCLocale("--json");

        String line = out.lines().filter(l -> l.startsWith("{")).findFirst().orElseThrow(() -> new AssertionError(out));
        JsonNode envelope = Jsons.mapper().readTree(line);
        assertThat(envelope.path("payload").path("note").asText()).as("the payload as stored").isEqualTo(TEXT);
    }

    @Test
    void the_table_is_utf8_under_a_c_locale_too() throws Exception {
        assertThat(listUnderCLocale()).contains("Order/" + TEXT);
    }

    /** {@code list --status pending} and {@code more} in a JVM of its own, with LANG=C and no LC_ variable. */
    private static String listUnderCLocale(String... more) throws Exception {
        Map<String, String> env = new HashMap<>(TestDatabases.env(db));
        env.put("LANG", "C");
        List<String> args = new java.util.ArrayList<>(List.of("list", "--status", "pending"));
        args.addAll(List.of(more));
        try (ChildJvm list = ChildJvm.start(ReplayCli.class.getName(), env, List.of(), args.toArray(String[]::new))) {
            assertThat(list.waitFor(Duration.ofSeconds(60))).as(list.output()).isZero();
            return list.output();
        }
    }
}
