package io.outboxkit.system.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.opentelemetry.proto.trace.v1.Span.SpanKind;
import io.outboxkit.app.testing.PrometheusText;
import io.outboxkit.system.Http;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.TestDatabase;
import io.outboxkit.testing.PostgresExtension;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The three services as processes, tracing to an OTLP receiver of the test's own and scraped by a
 * real Prometheus: one trace runs from {@code POST /orders} to the consumer's effect, a malformed
 * {@code traceparent} breaks nothing, and Prometheus answers the outbox's figures, with the
 * alert rules loaded and every name the rules and the dashboard use present.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ObservabilityTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(TestDatabase::createSchemas, 4);

    private static final Path OPS = Path.of("").toAbsolutePath().getParent().resolve("ops");
    private static OtlpReceiver receiver;
    private static RunningSystem system;
    private static int ordersPlaced;

    @BeforeAll
    static void start() {
        receiver = new OtlpReceiver();
        Map<String, String> otel = Map.of(
                "OTEL_TRACES_EXPORTER", "otlp",
                "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
                "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint(),
                "OTEL_BSP_SCHEDULE_DELAY", "100");
        system = new RunningSystem(db).withServiceEnv(otel).withRelayEnv(otel).start();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (system != null) {
            system.close();
        }
        if (receiver != null) {
            receiver.close();
        }
    }

    @Test
    @Order(1)
    void a_post_orders_gives_one_trace_of_server_producer_and_consumer_spans_across_the_three_processes() {
        String orderId = placeOrder(Map.of()).path("id").asText();

        OtlpReceiver.Received server = await().atMost(Duration.ofSeconds(30)).until(() -> serverSpanOf(orderId), s -> s != null);
        assertThat(server.service()).isEqualTo("order-service");
        assertThat(server.name()).isEqualTo("POST /orders");
        assertThat(server.attributes()).containsEntry("http.route", "/orders").containsEntry("http.response.status_code", "201");

        OtlpReceiver.Received producer = awaitSpan(server.traceId(), SpanKind.SPAN_KIND_PRODUCER);
        assertThat(producer.service()).isEqualTo("outbox-relay");
        assertThat(producer.parentSpanId()).as("a child of the request that wrote the message").isEqualTo(server.spanId());
        assertThat(producer.name()).isEqualTo("send Order");
        assertThat(producer.attributes()).containsEntry("messaging.system", "http")
                .containsEntry("messaging.destination.name", "Order")
                .containsEntry("messaging.operation.type", "send")
                .containsEntry("messaging.operation.name", "send")
                .containsKey("messaging.message.id");

        OtlpReceiver.Received consumer = awaitSpan(server.traceId(), SpanKind.SPAN_KIND_CONSUMER);
        assertThat(consumer.service()).isEqualTo("consumer");
        assertThat(consumer.parentSpanId()).as("a child of the delivery").isEqualTo(producer.spanId());
        assertThat(consumer.name()).isEqualTo("process Order");
        assertThat(consumer.attributes()).containsEntry("messaging.operation.type", "process")
                .containsEntry("messaging.consumer.group.name", "loyalty")
                .containsEntry("messaging.message.id", producer.attributes().get("messaging.message.id"));
    }

    @Test
    @Order(2)
    void a_callers_traceparent_is_continued_and_a_malformed_one_starts_a_new_trace_breaking_nothing() {
        String callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
        String orderId = placeOrder(Map.of("traceparent", "00-" + callerTrace + "-00f067aa0ba902b7-01")).path("id").asText();
        OtlpReceiver.Received continued = await().atMost(Duration.ofSeconds(30)).until(() -> serverSpanOf(orderId), s -> s != null);
        assertThat(continued.traceId()).isEqualTo(callerTrace);
        assertThat(continued.parentSpanId()).isEqualTo("00f067aa0ba902b7");

        for (String bad : List.of("garbage", "00-zzzz-yyyy-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                "ff-" + callerTrace + "-00f067aa0ba902b7-01", "00-" + callerTrace + "-0000000000000000-01", "%00%0d%0a")) {
            String id = placeOrder(Map.of("traceparent", bad, "tracestate", "=,,=" + bad)).path("id").asText();
            OtlpReceiver.Received server = await().atMost(Duration.ofSeconds(30)).until(() -> serverSpanOf(id), s -> s != null);
            assertThat(server.parentSpanId()).as("traceparent %s: a new trace", bad).isEmpty();
            assertThat(server.traceId()).isNotEqualTo(callerTrace);
            assertThat(awaitSpan(server.traceId(), SpanKind.SPAN_KIND_CONSUMER).service()).isEqualTo("consumer");
        }
    }

    @Test
    @Order(3)
    void a_real_prometheus_scrapes_the_three_services_and_answers_the_outbox_figures() throws Exception {
        Map<String, String> targets = new LinkedHashMap<>();
        targets.put("order-service", hostPort(system.orderUrl("/")));
        targets.put("consumer", hostPort(system.consumerUrl("/")));
        targets.put("outbox-relay", hostPort(system.relays().get(0).adminUrl("/")));
        for (String target : targets.values()) {
            PrometheusText.assertParses(Http.get("http://" + target + "/metrics").text());
        }
        try (PrometheusServer prometheus = PrometheusServer.start(targets, OPS.resolve("prometheus/outbox-alerts.yml"))) {
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(prometheus.value("sum(up{job=~\"order-service|consumer|outbox-relay\"})")).isEqualTo(3));
            int placed = ordersPlaced;
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                assertThat(prometheus.value("sum(outbox_delivered_total)")).isGreaterThanOrEqualTo(placed);
                assertThat(prometheus.value("sum(orders_placed_total)")).isEqualTo(placed);
                assertThat(prometheus.value("sum(outbox_consumer_messages_total{outcome=\"processed\"})")).isEqualTo(placed);
                assertThat(prometheus.value("max(outbox_oldest_pending_age_seconds)")).isZero();
                assertThat(prometheus.value("max(outbox_messages{status=\"pending\"})")).isZero();
                assertThat(prometheus.value("max(outbox_messages{status=\"dead\"})")).isZero();
                assertThat(prometheus.value("sum(outbox_delivery_latency_seconds_count)")).isGreaterThanOrEqualTo(placed);
            });

            JsonNode groups = prometheus.api("/api/v1/rules").path("data").path("groups");
            assertThat(groups).hasSize(1);
            assertThat(groups.get(0).path("name").asText()).isEqualTo("outboxkit");
            assertThat(groups.get(0).path("rules")).hasSize(8).allSatisfy(rule ->
                    assertThat(rule.path("health").asText()).as("rule %s", rule.path("name")).isEqualTo("ok"));

            for (String name : namesUsedByTheOpsFiles()) {
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(prometheus.query("count(" + name + ")"))
                        .as("a series named %s, which the alert rules or the dashboard use", name).isNotEmpty());
            }
            for (String expr : dashboardQueries()) {
                prometheus.query(expr); // fails the test on a query Prometheus refuses
            }
        }
    }

    /** Posts an order with {@code headers}; returns its JSON after checking the 201. */
    private static JsonNode placeOrder(Map<String, String> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(system.orderUrl("/orders")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"user_id\":\"" + UUID.randomUUID() + "\",\"amount\":12.50}"));
        headers.forEach(request::header);
        Http.Response response = Http.send(request);
        assertThat(response.status()).as("POST /orders with %s: %s", headers, response.text()).isEqualTo(201);
        ordersPlaced++;
        return response.json();
    }

    /**
     * The SERVER span of the POST /orders that wrote order {@code orderId}: the trace of the relay's
     * PRODUCER span of its OrderCreated event (found by the aggregate id the span carries).
     */
    private static OtlpReceiver.Received serverSpanOf(String orderId) {
        List<OtlpReceiver.Received> spans = receiver.spans();
        return spans.stream().filter(s -> s.kind() == SpanKind.SPAN_KIND_PRODUCER
                        && orderId.equals(s.attributes().get("outboxkit.aggregate.id")))
                .map(OtlpReceiver.Received::traceId).findFirst()
                .flatMap(trace -> spans.stream().filter(s -> s.traceId().equals(trace) && s.kind() == SpanKind.SPAN_KIND_SERVER
                        && "order-service".equals(s.service())).findFirst())
                .orElse(null);
    }

    private static OtlpReceiver.Received awaitSpan(String traceId, SpanKind kind) {
        return await().atMost(Duration.ofSeconds(30)).until(() -> receiver.spans().stream()
                .filter(s -> s.traceId().equals(traceId) && s.kind() == kind).findFirst().orElse(null), s -> s != null);
    }

    private static String hostPort(String url) {
        URI uri = URI.create(url);
        return uri.getHost() + ":" + uri.getPort();
    }

    /** The metric names the alert rules and the dashboard query. */
    private static Set<String> namesUsedByTheOpsFiles() throws IOException {
        String text = Files.readString(OPS.resolve("prometheus/outbox-alerts.yml"))
                + Files.readString(OPS.resolve("grafana/outboxkit-dashboard.json"));
        Set<String> names = new TreeSet<>();
        Matcher name = Pattern.compile("\\b((?:outbox|orders|http_server|hikaricp|jvm)_[a-z_]+)\\b").matcher(text);
        while (name.find()) {
            if (!name.group(1).endsWith("_job")) {
                names.add(name.group(1));
            }
        }
        return names;
    }

    /** The dashboard's queries, its variables filled in as Grafana would. */
    private static List<String> dashboardQueries() throws IOException {
        JsonNode dashboard = io.outboxkit.app.Jsons.mapper().readTree(OPS.resolve("grafana/outboxkit-dashboard.json").toFile());
        return dashboard.findValues("expr").stream().map(JsonNode::asText)
                .map(e -> e.replace("$relay_job", "outbox-relay").replace("$consumer_job", "consumer")
                        .replace("$order_job", "order-service").replace("$__rate_interval", "1m"))
                .toList();
    }
}
