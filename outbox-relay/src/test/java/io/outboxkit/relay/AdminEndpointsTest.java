package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Database;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
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

    @BeforeAll
    static void start() throws Exception {
        database = TestDatabases.open(db, 8, ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
        consumer = new FakeConsumer();
        relay = Relay.start(database, TestRelays.config(consumer.url(), "RELAY_NAME", "admin-test"));
    }

    @AfterAll
    static void stop() {
        relay.close();
        consumer.close();
        database.close();
    }

    @Test
    void health_is_ok_while_the_database_answers_and_the_poller_runs() throws Exception {
        HttpResponse<String> response = get(relay, "/health");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(json(response).get("status").asText()).isEqualTo("ok");
    }

    @Test
    void metrics_count_deliveries_and_the_outbox_by_status() throws Exception {
        TestOutbox outbox = new TestOutbox(db);
        UUID id = outbox.write(UUID.randomUUID().toString(), "OrderCreated");
        await().atMost(Duration.ofSeconds(10)).until(() -> outbox.status(id) == MessageStatus.PUBLISHED);

        HttpResponse<String> response = get(relay, "/metrics");

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode metrics = json(response);
        assertThat(metrics.get("relay").asText()).isEqualTo("admin-test");
        assertThat(metrics.get("claimed").asLong()).isGreaterThanOrEqualTo(1);
        assertThat(metrics.get("delivered").asLong()).isGreaterThanOrEqualTo(1);
        for (String counter : new String[] {"failed", "dead", "errors", "polls"}) {
            assertThat(metrics.get(counter).isIntegralNumber()).as(counter).isTrue();
        }
        assertThat(metrics.get("outbox").get("published").asLong()).isGreaterThanOrEqualTo(1);
        assertThat(metrics.get("outbox").get("pending").isIntegralNumber()).isTrue();
        assertThat(metrics.get("outbox").get("dead").isIntegralNumber()).isTrue();
    }

    @Test
    void metrics_are_also_served_in_the_prometheus_text_format() throws Exception {
        HttpResponse<String> response = get(relay, "/metrics/prometheus");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/plain"));
        assertThat(response.body())
                .contains("# TYPE outbox_relay_delivered_total counter")
                .containsPattern("outbox_relay_delivered_total\\{relay=\"admin-test\"} \\d+")
                .containsPattern("outbox_messages\\{status=\"pending\"} \\d+");
    }

    @Test
    void when_the_database_stops_answering_health_is_503_and_metrics_still_answer() throws Exception {
        Database lost = TestDatabases.open(db, 4, ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
        try (Relay cut = Relay.start(lost, TestRelays.config(consumer.url(), "RELAY_NAME", "cut-off"))) {
            lost.close();

            HttpResponse<String> health = get(cut, "/health");
            assertThat(health.statusCode()).isEqualTo(503);
            assertThat(json(health).get("error").asText()).isEqualTo("database is not answering");

            await().atMost(Duration.ofSeconds(10)).until(() -> json(get(cut, "/metrics")).get("errors").asLong() > 0);
            JsonNode metrics = json(get(cut, "/metrics"));
            assertThat(metrics.get("outbox").isNull()).isTrue();
        }
    }

    @Test
    void an_unknown_path_is_a_json_not_found() throws Exception {
        HttpResponse<String> response = get(relay, "/nothing");

        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(json(response).get("error").isTextual()).isTrue();
    }

    private static HttpResponse<String> get(Relay target, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + target.adminPort() + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> response) throws Exception {
        return Jsons.mapper().readTree(response.body());
    }
}
