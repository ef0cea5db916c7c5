package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.FreePorts;
import io.outboxkit.testing.PostgresExtension;
import java.net.URI;
import java.sql.Connection;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * A relay pointed by {@code OUTBOX_SCHEMA}, {@code OUTBOX_TABLE}, {@code PROCESSED_TABLE} and
 * {@code OUTBOX_CHANNEL} at an outbox kept under other names (a service's own) migrates, delivers,
 * shows and trims that outbox.
 */
class OutboxNamesTest {

    static final OutboxNames NAMES = new OutboxNames("billing", "billing_outbox", "billing_processed", "billing_wakeup");

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 8);
    @RegisterExtension
    static final FakeConsumer consumer = new FakeConsumer();

    @Test
    void a_relay_given_an_outbox_s_names_delivers_its_messages_and_shows_them_on_its_console() throws Exception {
        int port = FreePorts.pick();
        try (AutoCloseable relay = RelayMain.start(Env.of(env(port)))) {
            // Idle, waiting for a notification on OUTBOX_CHANNEL: only that wakes it within a minute.
            await().atMost(Duration.ofSeconds(10)).until(OutboxNamesTest::aPollerWaits);
            try (Connection listener = db.dataSource().getConnection()) {
                listener.createStatement().execute("LISTEN " + NAMES.channel());
                UUID id = write();

                PGNotification[] told = listener.unwrap(PGConnection.class).getNotifications(10_000);
                assertThat(told).as("the write's wake-up, on OUTBOX_CHANNEL").isNotNull().isNotEmpty();
                assertThat(told[0].getName()).isEqualTo(NAMES.channel());
                await().atMost(Duration.ofSeconds(10)).until(() -> consumer.received().stream().anyMatch(r -> r.id().equals(id)));
                assertPublishedOnTheConsole(port, id);
            }
        }
    }

    private static void assertPublishedOnTheConsole(int port, UUID id) throws Exception {
        OutboxAdmin admin = OutboxAdmin.create(db.jdbi(), NAMES);
        await().atMost(Duration.ofSeconds(10)).until(() -> admin.find(id).map(e -> e.status()).orElse(null)
                == MessageStatus.PUBLISHED);
        HttpResponse<String> state = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/console/messages/" + id)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(state.statusCode()).isEqualTo(200);
        assertThat(state.body()).contains("PUBLISHED");
    }

    @Test
    void its_retention_trims_that_outbox() throws Exception {
        Map<String, String> env = env(FreePorts.pick());
        env.put("RETENTION_PUBLISHED_MS", "1");
        env.put("RETENTION_INTERVAL_MS", "50");
        try (AutoCloseable relay = RelayMain.start(Env.of(env))) {
            UUID id = write();

            OutboxAdmin admin = OutboxAdmin.create(db.jdbi(), NAMES);
            await().atMost(Duration.ofSeconds(10)).until(() -> consumer.received().stream().anyMatch(r -> r.id().equals(id)));
            await().atMost(Duration.ofSeconds(10)).until(() -> admin.find(id).isEmpty());
        }
    }

    @Test
    void a_name_that_is_not_a_lowercase_identifier_is_refused_naming_its_variable() {
        assertThatThrownBy(() -> RelayConfig.from(Env.of(Map.of("OUTBOX_TABLE", "Billing-Outbox"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("OUTBOX_TABLE must be a lowercase SQL identifier")
                .hasMessageContaining("was \"Billing-Outbox\"");
        assertThatThrownBy(() -> RelayConfig.from(Env.of(Map.of("PROCESSED_TABLE", "outbox"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("OUTBOX_TABLE and PROCESSED_TABLE must differ");
    }

    @Test
    void unset_they_name_the_default_outbox() {
        assertThat(RelayConfig.from(Env.of(Map.of())).names()).isEqualTo(OutboxNames.DEFAULT);
    }

    /** Whether a poller of the named outbox has announced that it waits for a notification. */
    private static boolean aPollerWaits() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT waiting_until > now() FROM " + NAMES.schema() + "."
                + NAMES.outboxTable() + "_wakeup").mapTo(Boolean.class).one());
    }

    /** Writes one message to the named outbox, as a service keeping it under those names does. */
    private static UUID write() {
        return db.jdbi().inTransaction(h -> OutboxWriter.create(NAMES).write(h,
                TestOutbox.message(UUID.randomUUID().toString(), "InvoiceIssued")));
    }

    private static Map<String, String> env(int port) {
        Map<String, String> env = TestDatabases.env(db);
        env.put("CONSUMER_URL", consumer.url());
        env.put("DELIVERY", "single");
        env.put("PORT", Integer.toString(port));
        env.put("POLL_INTERVAL_MS", "60000");
        env.put("OUTBOX_SCHEMA", NAMES.schema());
        env.put("OUTBOX_TABLE", NAMES.outboxTable());
        env.put("PROCESSED_TABLE", NAMES.processedTable());
        env.put("OUTBOX_CHANNEL", NAMES.channel());
        return env;
    }
}
