package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.outboxkit.app.Jsons;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.NewMessage;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.PrivateNatsServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code SINK=nats}: a relay whose broker is down at start still starts, reports the sink down in
 * {@code /health}, retries with backoff, and once the broker is up delivers every message, none
 * DEAD. The broker is a nats-server of the test's own (from /usr/sbin/nats-server, JetStream on,
 * a store in a temporary directory), started only after the relay; one that refuses the relay
 * then makes {@code /health/live} ask for a restart.
 */
class BrokerSinkTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply);
    @RegisterExtension
    static final Relays relays = new Relays(db, 8);

    static final TestOutbox outbox = new TestOutbox(db);
    final HttpClient http = HttpClient.newHttpClient();
    final PrivateNatsServer nats = PrivateNatsServer.unstarted();

    @AfterEach
    void stopNats() throws Exception {
        nats.close();
    }

    @Test
    void a_broker_down_at_start_and_back_within_the_retry_schedule_loses_nothing_and_kills_nothing() throws Exception {
        String stream = "RELAY_SINK_" + UUID.randomUUID().toString().substring(0, 8).toUpperCase();
        // 20 attempts, backoff up to 500 ms: a schedule of several seconds, longer than the outage below.
        Relay relay = relays.start(TestRelays.config("http://unused.invalid/messages", "SINK", "nats",
                "NATS_URL", nats.url(), "NATS_STREAM", stream, "MAX_ATTEMPTS", "20",
                "BACKOFF_MAX_MS", "500"));
        List<NewMessage> messages = new ArrayList<>();
        for (String order : List.of(UUID.randomUUID().toString(), UUID.randomUUID().toString())) {
            for (String type : List.of("OrderCreated", "OrderPaid", "OrderCancelled")) {
                messages.add(TestOutbox.message(order, type));
            }
        }
        List<UUID> ids = outbox.writeAll(messages);

        await("deliveries fail while NATS is down").atMost(Duration.ofSeconds(20))
                .until(() -> outbox.entry(ids.get(0)).message().attempts() >= 2);
        assertThat(outbox.entry(ids.get(0)).lastError()).contains("nats not connected yet");
        JsonNode down = health(relay);
        assertThat(down.get("status").asText()).isEqualTo("unavailable");
        assertThat(down.get("error").asText()).isEqualTo("sink nats is not connected");

        nats.start();

        await("every message delivered once NATS is up").atMost(Duration.ofSeconds(30))
                .until(() -> ids.stream().allMatch(id -> outbox.status(id) == MessageStatus.PUBLISHED));
        assertThat(relay.stats().dead()).isZero();
        await("health ok").atMost(Duration.ofSeconds(10)).until(() -> "ok".equals(health(relay).get("status").asText()));
        assertThat(health(relay).get("sink").asText()).isEqualTo("nats");
        try (Connection client = Nats.connect(nats.url())) {
            assertThat(client.jetStreamManagement().getStreamInfo(stream).getStreamState().getMsgCount())
                    .as("each message stored once").isEqualTo(ids.size());
        }
    }

    @Test
    void a_broker_that_refuses_the_relay_once_it_answers_makes_live_503_for_the_restart_that_alone_cures_it()
            throws Exception {
        // Down at start, then up with credentials the relay lacks: every batch would fail until a restart.
        try (PrivateNatsServer guarded = PrivateNatsServer.unstarted("--user", "relay", "--pass", "right-pw-1")) {
            Relay relay = relays.start(TestRelays.config("http://unused.invalid/messages", "SINK", "nats",
                    "NATS_URL", guarded.url().replace("nats://", "nats://relay:wrong-pw-2@")));
            assertThat(live(relay).statusCode()).as("connecting in the background is alive").isEqualTo(200);

            guarded.start();

            await("given up on the refusal").atMost(Duration.ofSeconds(20)).until(() -> live(relay).statusCode() == 503);
            assertThat(live(relay).body()).isEqualTo("{\"status\":\"unavailable\",\"error\":\"sink gave up connecting\"}");
        }
    }

    HttpResponse<String> live(Relay relay) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + relay.adminPort() + "/health/live"))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    JsonNode health(Relay relay) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + relay.adminPort()
                + "/health")).build(), HttpResponse.BodyHandlers.ofString());
        return Jsons.mapper().readTree(response.body());
    }
}
