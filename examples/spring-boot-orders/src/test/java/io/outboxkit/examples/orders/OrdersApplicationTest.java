package io.outboxkit.examples.orders;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The example as it runs: a real server on a random port, its own Flyway, the starter, the in-process poller. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ExtendWith(OutputCaptureExtension.class)
@DirtiesContext
class OrdersApplicationTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY);

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Value("${local.server.port}")
    int port;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        registry.add("spring.datasource.url", db::jdbcUrl);
        registry.add("spring.datasource.username", db::user);
        registry.add("spring.datasource.password", () -> db.password() == null ? "" : db.password());
    }

    @Test
    void an_order_taken_over_http_is_saved_and_its_event_arrives_at_the_publisher(CapturedOutput output)
            throws Exception {
        HttpResponse<String> response = post("{\"user_id\": \"550e8400-e29b-41d4-a716-446655440000\", \"amount\": 12.50}");

        assertThat(response.statusCode()).isEqualTo(201);
        Matcher id = Pattern.compile("\"id\":\"([0-9a-f-]{36})\"").matcher(response.body());
        assertThat(id.find()).as(response.body()).isTrue();
        assertThat(response.body()).contains("\"user_id\":\"550e8400-e29b-41d4-a716-446655440000\"", "\"amount\":12.5");
        await().atMost(Duration.ofSeconds(10))
                .until(() -> output.getOut().contains("delivered OrderCreated of Order " + id.group(1)));
        String status = db.jdbi().withHandle(h -> h.createQuery("SELECT status FROM outbox WHERE aggregate_id = :id")
                .bind("id", id.group(1)).mapTo(String.class).one());
        assertThat(status).isEqualTo("PUBLISHED");
    }

    @Test
    void a_bad_order_gets_400_and_writes_neither_an_order_nor_an_event() throws Exception {
        long ordersBefore = count("orders");
        long eventsBefore = count("outbox");

        HttpResponse<String> response = post("{\"user_id\": \"550e8400-e29b-41d4-a716-446655440000\", \"amount\": -1}");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(count("orders")).isEqualTo(ordersBefore);
        assertThat(count("outbox")).isEqualTo(eventsBefore);
    }

    @Test
    void the_health_endpoint_has_the_outbox_component_up_with_its_figures() throws Exception {
        HttpResponse<String> response = get("/actuator/health");

        assertThat(response.statusCode()).isEqualTo(200);
        // The component's object: its status and its details, one level of braces deep.
        Matcher outbox = Pattern.compile("\"outbox\":(\\{(?:[^{}]|\\{[^{}]*\\})*\\})").matcher(response.body());
        assertThat(outbox.find()).as(response.body()).isTrue();
        assertThat(outbox.group(1)).contains("\"status\":\"UP\"", "\"poller\":\"running\"", "\"pending\":",
                "\"dead\":", "\"oldestPendingAgeSeconds\":", "\"maxPendingAgeSeconds\":300.0");
    }

    @Test
    void the_prometheus_endpoint_counts_the_delivered_events() throws Exception {
        post("{\"user_id\": \"550e8400-e29b-41d4-a716-446655440000\", \"amount\": 3.00}");

        await().atMost(Duration.ofSeconds(10)).until(() -> delivered() >= 1);
        assertThat(get("/actuator/prometheus").body())
                .contains("outbox_messages{status=\"pending\"}", "outbox_oldest_pending_age_seconds",
                        "outbox_delivery_latency_seconds_bucket");
    }

    /** outbox_delivered_total, as Prometheus would scrape it. */
    private double delivered() throws Exception {
        Matcher total = Pattern.compile("(?m)^outbox_delivered_total(?:\\{[^}]*\\})? ([0-9.eE+]+)$")
                .matcher(get("/actuator/prometheus").body());
        return total.find() ? Double.parseDouble(total.group(1)) : 0;
    }

    private HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/orders"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static long count(String table) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM " + table).mapTo(Long.class).one());
    }
}
