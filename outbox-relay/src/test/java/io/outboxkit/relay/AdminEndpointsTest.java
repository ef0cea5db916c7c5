package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Database;
import io.outboxkit.app.Env;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.broker.Broker;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.app.testing.HttpServerRefusals;
import io.outboxkit.app.testing.PrometheusText;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.relay.console.ConsoleSettings;
import io.outboxkit.testing.PostgresExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The admin port tells whether the relay works and what it has done. */
class AdminEndpointsTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply);

    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static Database database;
    static FakeConsumer consumer;
    static Relay relay;
    static Observability observability;

    @BeforeAll
    static void start() throws Exception {
        database = TestDatabases.open(db, 8, ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
        consumer = new FakeConsumer();
        observability = Observability.start("outbox-relay", Env.of(Map.of()));
        observability.trackPool(database);
        relay = Relay.start(database, TestRelays.config(consumer.url(), "RELAY_NAME", "admin-test"), observability,
                ConsoleSettings.noToken());
    }

    @AfterAll
    static void stop() {
        relay.close();
        consumer.close();
        database.close();
        observability.close();
    }

    @Test
    void health_is_ok_while_the_database_answers_and_the_poller_runs() throws Exception {
        HttpResponse<String> response = get(relay, "/health");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(json(response).get("status").asText()).isEqualTo("ok");
    }

    @Test
    void live_and_ready_are_ok_while_the_database_answers_and_the_poller_runs() throws Exception {
        HttpResponse<String> live = get(relay, "/health/live");
        assertThat(live.statusCode()).isEqualTo(200);
        assertThat(live.body()).as("live names nothing: it is open without the token").isEqualTo("{\"status\":\"ok\"}");
        HttpResponse<String> ready = get(relay, "/health/ready");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(json(ready).get("relay").asText()).isEqualTo("admin-test");
    }

    @Test
    void while_the_database_does_not_answer_live_is_ok_and_ready_is_503() throws Exception {
        Database lost = TestDatabases.open(db, 4, ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
        try (Relay cut = Relay.start(lost, TestRelays.config(consumer.url(), "RELAY_NAME", "live-test"))) {
            lost.close();
            // The poller's polls now fail; it goes on trying, as it should, and that is not a reason to restart.
            await().atMost(Duration.ofSeconds(10)).until(() -> json(get(cut, "/metrics.json")).get("errors").asLong() > 0);

            HttpResponse<String> live = get(cut, "/health/live");
            assertThat(live.statusCode()).isEqualTo(200);
            assertThat(live.body()).isEqualTo("{\"status\":\"ok\"}");
            HttpResponse<String> ready = get(cut, "/health/ready");
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(json(ready).get("error").asText()).isEqualTo("database is not answering");
        }
    }

    @Test
    void live_is_ok_while_the_relay_has_not_started_its_poller_yet_and_503_once_a_started_poller_is_not_running()
            throws Exception {
        // The relay serves its admin port before it starts the poller; a probe in between must not see it dead.
        // This poller is never started: it would deliver the other tests' messages.
        OutboxPoller poller = OutboxPoller.builder(database.jdbi(), message -> { }).name("starting-test").build();
        OutboxMonitor monitor = OutboxMonitor.create(database.jdbi(), OutboxNames.DEFAULT);
        try (AdminServer admin = AdminServer.start(database, OutboxAdmin.create(database.jdbi()), monitor, poller, message -> { }, Broker.HTTP, "127.0.0.1", 0,
                Observability.off(), ConsoleSettings.noToken())) {
            assertThat(get(admin.port(), "/health/live").statusCode()).as("not started yet").isEqualTo(200);
            HttpResponse<String> ready = get(admin.port(), "/health/ready");
            assertThat(ready.statusCode()).as("not ready yet").isEqualTo(503);
            assertThat(json(ready).get("error").asText()).isEqualTo("poller is not running");

            admin.pollerStarted(); // and its poller not running: ended, as a worker that died would leave it
            HttpResponse<String> stopped = get(admin.port(), "/health/live");
            assertThat(stopped.statusCode()).isEqualTo(503);
            assertThat(stopped.body()).isEqualTo("{\"status\":\"unavailable\",\"error\":\"poller is not running\"}");
        }
    }

    @Test
    void metrics_json_counts_deliveries_and_the_outbox_by_status() throws Exception {
        TestOutbox outbox = new TestOutbox(db);
        UUID id = outbox.write(UUID.randomUUID().toString(), "OrderCreated");
        await().atMost(Duration.ofSeconds(10)).until(() -> outbox.status(id) == MessageStatus.PUBLISHED);

        HttpResponse<String> response = get(relay, "/metrics.json");

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode metrics = json(response);
        assertThat(metrics.get("relay").asText()).isEqualTo("admin-test");
        assertThat(metrics.get("claimed").asLong()).isGreaterThanOrEqualTo(1);
        assertThat(metrics.get("delivered").asLong()).isGreaterThanOrEqualTo(1);
        for (String counter : new String[] {"failed", "dead", "errors", "polls"}) {
            assertThat(metrics.get(counter).isIntegralNumber()).as(counter).isTrue();
        }
        assertThat(metrics.get("outbox").get("pending").isIntegralNumber()).isTrue();
        assertThat(metrics.get("outbox").get("dead").isIntegralNumber()).isTrue();
        // Estimated from the table's statistics, as OutboxMonitor's tests show; as /metrics has it.
        assertThat(metrics.get("outbox").get("published").asLong()).isNotNegative();
    }

    @Test
    void metrics_json_answers_without_the_outbox_figures_while_the_outbox_cannot_be_read() throws Exception {
        try (Connection locker = db.dataSource().getConnection(); Statement statement = locker.createStatement()) {
            locker.setAutoCommit(false);
            statement.execute("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE"); // as an ALTER TABLE or VACUUM FULL does
            try {
                // Once the last reading (at most a second old) is stale, the next one gives up after the
                // monitor's statement timeout (5 s), and each request answers within it.
                await().atMost(Duration.ofSeconds(20)).until(() -> {
                    HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                                    URI.create("http://127.0.0.1:" + relay.adminPort() + "/metrics.json"))
                            .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
                    assertThat(response.statusCode()).isEqualTo(200);
                    return json(response).get("outbox").isNull();
                });
            } finally {
                locker.rollback();
            }
        }
    }

    @Test
    void metrics_are_prometheus_text_with_the_outbox_jvm_pool_and_http_figures() throws Exception {
        get(relay, "/health");
        HttpResponse<String> response = get(relay, "/metrics");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue(Observability.PROMETHEUS_TEXT);
        assertThat(response.body())
                .contains("# TYPE outbox_delivered_total counter", "outbox_delivery_failures_total{reason=\"timeout\"}",
                        "outbox_dead_total", "outbox_delivery_latency_seconds_bucket", "outbox_claim_duration_seconds_count",
                        "outbox_batch_size_count", "outbox_messages{status=\"pending\"}", "outbox_messages{status=\"published\"}",
                        "outbox_messages{status=\"dead\"}", "outbox_oldest_pending_age_seconds",
                        "jvm_memory_used_bytes", "jvm_gc_", "process_uptime_seconds",
                        "hikaricp_connections_active{pool=\"", "http_server_requests_seconds_count{method=\"GET\",status=\"2xx\",uri=\"/health\"}");
        PrometheusText.assertParses(response.body());
    }

    @Test
    void after_n_deliveries_the_delivered_counter_says_n() throws Exception {
        double before = PrometheusText.value(get(relay, "/metrics").body(), "outbox_delivered_total");
        TestOutbox outbox = new TestOutbox(db);
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(outbox.write(UUID.randomUUID().toString(), "OrderCreated"));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> ids.stream().allMatch(id -> outbox.status(id) == MessageStatus.PUBLISHED));

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(PrometheusText.value(get(relay, "/metrics").body(), "outbox_delivered_total") - before).isEqualTo(5));
    }

    @Test
    void with_a_message_pending_for_10_s_the_oldest_pending_age_says_about_10_s() throws Exception {
        // Held back behind a DEAD message of its aggregate: pending, due, and not delivered.
        String order = UUID.randomUUID().toString();
        TestOutbox outbox = new TestOutbox(db);
        UUID dead = outbox.write(order, "OrderCreated");
        await().atMost(Duration.ofSeconds(10)).until(() -> outbox.status(dead) == MessageStatus.PUBLISHED);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'DEAD' WHERE id = ?", dead));
        UUID waiting = outbox.write(order, "OrderPaid");
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET created_at = now() - interval '10 seconds' WHERE id = ?", waiting));
        try {
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                String text = get(relay, "/metrics").body();
                assertThat(PrometheusText.value(text, "outbox_oldest_pending_age_seconds")).isBetween(9.9, 14.0);
                assertThat(PrometheusText.value(text, "outbox_messages{status=\"dead\"}")).isEqualTo(1);
            });
            assertThat(outbox.status(waiting)).isEqualTo(MessageStatus.PENDING);
        } finally {
            db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'PUBLISHED' WHERE aggregate_id = ?", order));
        }
    }

    @Test
    void when_the_database_stops_answering_health_is_503_and_metrics_still_answer() throws Exception {
        Database lost = TestDatabases.open(db, 4, ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
        try (Relay cut = Relay.start(lost, TestRelays.config(consumer.url(), "RELAY_NAME", "cut-off"))) {
            lost.close();

            HttpResponse<String> health = get(cut, "/health");
            assertThat(health.statusCode()).isEqualTo(503);
            assertThat(json(health).get("error").asText()).isEqualTo("database is not answering");

            await().atMost(Duration.ofSeconds(10)).until(() -> json(get(cut, "/metrics.json")).get("errors").asLong() > 0);
            JsonNode metrics = json(get(cut, "/metrics.json"));
            assertThat(metrics.get("outbox").isNull()).isTrue();
        }
    }

    @Test
    void an_unknown_path_is_a_json_not_found() throws Exception {
        HttpResponse<String> response = get(relay, "/nothing");

        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(json(response).get("error").isTextual()).isTrue();
    }

    @Test
    void a_uri_or_a_header_too_long_for_the_http_server_is_a_json_414_or_431_not_a_page() {
        HttpServerRefusals.assertTooLongRequestsGetJsonErrors(relay.adminPort(), "/health");
    }

    private static HttpResponse<String> get(Relay target, String path) throws Exception {
        return get(target.adminPort(), path);
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> response) throws Exception {
        return Jsons.mapper().readTree(response.body());
    }
}
