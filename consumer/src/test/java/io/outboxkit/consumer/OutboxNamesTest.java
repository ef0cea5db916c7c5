package io.outboxkit.consumer;

import static io.outboxkit.app.testing.TestDatabases.count;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.app.Env;
import io.outboxkit.app.testing.OutboxNameRefusals;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.testing.FreePorts;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Started with {@code OUTBOX_SCHEMA} (and the other names the relay reads), the consumer records
 * what it processed in the processed-messages table those name, deduplicates against it and counts
 * from it, and leaves the default one alone; a bad name stops its start with the relay's message.
 */
class OutboxNamesTest {

    /** A schema of the outbox's own, as a relay started with {@code OUTBOX_SCHEMA=messaging} reads it. */
    static final String SCHEMA = "messaging";

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply, 2);

    /** Each test starts the consumer on a schema of its own making: no record of another test is counted. */
    @BeforeEach
    void dropTheOutboxSchema() {
        db.jdbi().useHandle(h -> h.execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE"));
    }

    @Test
    void a_processed_message_is_recorded_in_the_processed_table_of_OUTBOX_SCHEMA() throws Exception {
        int port = FreePorts.pick();
        Map<String, String> env = TestDatabases.serviceEnv(db, port);
        env.put("OUTBOX_SCHEMA", SCHEMA);
        UUID id = UUID.randomUUID();
        ObjectNode envelope = Envelopes.orderCreated(id, 1, UUID.randomUUID(), UUID.randomUUID(), "10.00");

        try (AutoCloseable consumer = ConsumerMain.start(Env.of(env))) {
            ApiClient api = new ApiClient(port);
            assertThat(api.postJson("/messages", envelope).body().get("status").asText()).isEqualTo("processed");
            assertThat(api.postJson("/messages", envelope).body().get("status").asText())
                    .as("a redelivery, found in that table").isEqualTo("duplicate");
            assertThat(api.get("/stats").body().get("processed").asLong()).as("counted from that table").isEqualTo(1);
        }

        assertThat(count(db, "SELECT count(*) FROM " + SCHEMA + ".processed_messages WHERE message_id = '" + id
                + "' AND consumer = 'loyalty'")).as("recorded in " + SCHEMA + ".processed_messages").isEqualTo(1);
        assertThat(count(db, "SELECT count(*) FROM public.processed_messages")).as("nothing in the default table").isZero();
    }

    /**
     * README: the consumer trims the processed-messages table its names name. With OUTBOX_SCHEMA set,
     * a record past the dedup window in that table is deleted and a young one kept.
     */
    @Test
    void retention_trims_the_processed_table_of_OUTBOX_SCHEMA() throws Exception {
        Map<String, String> env = TestDatabases.serviceEnv(db, FreePorts.pick());
        env.put("OUTBOX_SCHEMA", SCHEMA);
        env.put("RETENTION_INTERVAL_MS", "200");
        UUID stale = UUID.randomUUID();
        UUID young = UUID.randomUUID();

        try (AutoCloseable consumer = ConsumerMain.start(Env.of(env))) {
            db.jdbi().useHandle(h -> {
                h.execute("INSERT INTO " + SCHEMA + ".processed_messages (consumer, message_id, processed_at) "
                        + "VALUES ('loyalty', ?, now() - interval '400 days')", stale);
                h.execute("INSERT INTO " + SCHEMA + ".processed_messages (consumer, message_id, processed_at) "
                        + "VALUES ('loyalty', ?, now() - interval '1 day')", young);
            });
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(count(db,
                    "SELECT count(*) FROM " + SCHEMA + ".processed_messages WHERE message_id = '" + stale + "'"))
                    .as("a record past the 30-day window in " + SCHEMA + ".processed_messages").isZero());
        }
        assertThat(count(db, "SELECT count(*) FROM " + SCHEMA + ".processed_messages WHERE message_id = '" + young + "'"))
                .as("a record within the window").isOne();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"OUTBOX_SCHEMA", "OUTBOX_TABLE", "PROCESSED_TABLE", "OUTBOX_CHANNEL"})
    void a_name_that_is_not_a_lowercase_identifier_fails_the_start_as_the_relay_s_does(String variable) throws Exception {
        OutboxNameRefusals.assertRefusedAsByTheRelay(TestDatabases.serviceEnv(db, FreePorts.pick()), variable,
                ConsumerMain::start);
    }
}
