package io.outboxkit.orders;

import static io.outboxkit.app.testing.PrometheusText.value;
import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.app.Env;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.app.testing.PrometheusText;
import io.outboxkit.testing.PostgresExtension;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code GET /metrics}: the orders and events written, the answers by status class, the JVM and the pool. */
class MetricsTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OrderServiceMain.SCHEMA::apply);

    static Observability observability;
    static RunningOrderService service;

    @BeforeAll
    static void start() {
        observability = Observability.start(OrderServiceMain.NAME, Env.of(Map.of()));
        service = RunningOrderService.start(db, observability);
    }

    @AfterAll
    static void stop() {
        service.close();
        observability.close();
    }

    @Test
    void orders_and_events_written_and_answers_by_status_class_are_counted() {
        String body = "{\"user_id\":\"" + UUID.randomUUID() + "\",\"amount\":10.00}";
        String before = metrics();
        String first = RunningOrderService.json(service.post("/orders", body)).get("id").asText();
        service.post("/orders", body);
        service.post("/orders", body, "Idempotency-Key", "metrics-1");
        service.post("/orders", body, "Idempotency-Key", "metrics-1"); // the stored answer: nothing written, nothing counted
        service.post("/orders/" + first + "/pay", "");
        service.get("/orders/" + UUID.randomUUID()); // 404
        service.post("/orders", "{\"amount\":-1}"); // 400

        String after = metrics();
        assertThat(delta(before, after, "orders_placed_total")).isEqualTo(3);
        assertThat(delta(before, after, "orders_events_written_total{event_type=\"OrderCreated\"}")).isEqualTo(3);
        assertThat(delta(before, after, "orders_events_written_total{event_type=\"OrderPaid\"}")).isEqualTo(1);
        assertThat(value(after, "orders_events_written_total{event_type=\"OrderCancelled\"}")).isZero();
        assertThat(value(after, "http_server_requests_seconds_count{method=\"POST\",status=\"2xx\",uri=\"/orders\"}"))
                .isGreaterThanOrEqualTo(4);
        assertThat(value(after, "http_server_requests_seconds_count{method=\"POST\",status=\"4xx\",uri=\"/orders\"}"))
                .isGreaterThanOrEqualTo(1);
        assertThat(value(after, "http_server_requests_seconds_count{method=\"GET\",status=\"4xx\",uri=\"/orders/{id}\"}"))
                .isGreaterThanOrEqualTo(1);
        assertThat(value(after, "http_server_requests_seconds_count{method=\"POST\",status=\"2xx\",uri=\"/orders/{id}/pay\"}"))
                .isGreaterThanOrEqualTo(1);
        assertThat(after).contains("hikaricp_connections_active{pool=\"", "jvm_memory_used_bytes", "jvm_threads_live_threads");
        assertThat(after).as("a path never becomes a label").doesNotContain(first);
    }

    @Test
    void metrics_parse_as_prometheus_text() {
        HttpResponse<String> response = service.get("/metrics");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue(Observability.PROMETHEUS_TEXT);
        PrometheusText.assertParses(response.body());
    }

    @Test
    void with_metrics_off_nothing_is_served_and_the_api_works_the_same() {
        try (Observability off = Observability.start(OrderServiceMain.NAME, Env.of(Map.of("METRICS", "off")));
             RunningOrderService plain = RunningOrderService.start(db, off)) {
            assertThat(plain.get("/metrics").statusCode()).isEqualTo(404);
            assertThat(plain.post("/orders", "{\"user_id\":\"" + UUID.randomUUID() + "\",\"amount\":1.00}").statusCode())
                    .isEqualTo(201);
        }
    }

    private static String metrics() {
        return service.get("/metrics").body();
    }

    private static double delta(String before, String after, String series) {
        return value(after, series) - value(before, series);
    }
}
