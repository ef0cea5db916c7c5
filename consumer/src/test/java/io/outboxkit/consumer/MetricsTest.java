package io.outboxkit.consumer;

import static io.outboxkit.app.testing.PrometheusText.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.app.Database;
import io.outboxkit.app.Env;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.app.testing.PrometheusText;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code GET /metrics}: what the idempotent handler did with each message, its lag, and the ordering violations. */
class MetricsTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply);

    static Observability observability;
    static Database database;
    static ConsumerApp app;
    static ApiClient api;

    @BeforeAll
    static void start() {
        observability = Observability.start("consumer", Env.of(Map.of()));
        database = TestDatabases.open(db, 6, ConsumerMain.SCHEMA);
        observability.trackPool(database);
        app = ConsumerApp.start(database, "loyalty", "127.0.0.1", 0, observability);
        api = new ApiClient(app.port());
    }

    @AfterAll
    static void stop() {
        app.close();
        database.close();
        observability.close();
    }

    @Test
    void processed_duplicate_and_failed_messages_and_the_lag_from_write_to_effect_are_counted() {
        String before = api.text("/metrics");
        UUID order = UUID.randomUUID();
        ObjectNode created = Envelopes.orderCreated(UUID.randomUUID(), 1, order, UUID.randomUUID(), "10.00");
        created.put("created_at", Instant.now().minusSeconds(10).toString());
        api.postJson("/messages", created);
        api.postJson("/messages", created);
        ObjectNode paid = Envelopes.orderPaid(UUID.randomUUID(), 2, order);
        paid.put("created_at", Instant.now().toString());
        api.postJson("/messages", paid);
        ObjectNode poison = Envelopes.orderCreated(UUID.randomUUID(), 3, UUID.randomUUID(), UUID.randomUUID(), "10.00");
        ((ObjectNode) poison.get("payload")).put("amount", "not a number");
        assertThat(api.postJson("/messages", poison).status()).isEqualTo(422);

        String after = api.text("/metrics");
        assertThat(delta(before, after, "outbox_consumer_messages_total{consumer=\"loyalty\",outcome=\"processed\"}")).isEqualTo(2);
        assertThat(delta(before, after, "outbox_consumer_messages_total{consumer=\"loyalty\",outcome=\"duplicate\"}")).isEqualTo(1);
        assertThat(delta(before, after, "outbox_consumer_messages_total{consumer=\"loyalty\",outcome=\"failed\"}")).isEqualTo(1);
        assertThat(delta(before, after, "outbox_consumer_lag_seconds_count{consumer=\"loyalty\"}")).isEqualTo(2);
        assertThat(delta(before, after, "outbox_consumer_lag_seconds_sum{consumer=\"loyalty\"}")).as("10 s and about 0").isBetween(9.9, 30.0);
        assertThat(after).contains("http_server_requests_seconds_count{method=\"POST\",status=\"2xx\",uri=\"/messages\"}",
                "hikaricp_connections_active{pool=\"", "jvm_memory_used_bytes");
        PrometheusText.assertParses(after);
    }

    /**
     * README's metrics table: the poller's meters are the relay's. Here they would be a second,
     * always-zero copy under job="consumer", which a query not filtered by job reads as a relay
     * that delivers nothing.
     */
    @Test
    void the_consumers_metrics_hold_none_of_the_relays_meters() {
        api.postJson("/messages", Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), UUID.randomUUID(), "10.00"));
        String text = api.text("/metrics");
        assertThat(text).contains("outbox_consumer_messages_total{consumer=\"loyalty\",outcome=\"processed\"}");
        List<String> relayOnly = List.of("outbox_delivered_total", "outbox_dead_total", "outbox_poll_errors_total",
                "outbox_delivery_failures_total", "outbox_delivery_latency_seconds", "outbox_claim_duration_seconds",
                "outbox_batch_size");
        List<String> served = text.lines().filter(l -> !l.startsWith("#"))
                .filter(l -> relayOnly.stream().anyMatch(l::startsWith)).toList();
        assertThat(served).as("relay meters on the consumer's /metrics").isEmpty();
    }

    @Test
    void a_consumer_over_http_serves_the_dead_letter_counters_at_zero_for_the_rules_and_dashboards() {
        String text = api.text("/metrics");
        assertThat(value(text, "outbox_consumer_dead_letters_total{consumer=\"loyalty\",reason=\"unreadable\"}")).isZero();
        assertThat(value(text, "outbox_consumer_dead_letters_total{consumer=\"loyalty\",reason=\"max_attempts\"}")).isZero();
    }

    @Test
    void an_event_applied_out_of_order_counts_as_an_ordering_violation() {
        double before = value(api.text("/metrics"), "outbox_consumer_ordering_violations_total{consumer=\"loyalty\"}");
        UUID order = UUID.randomUUID();
        api.postJson("/messages", Envelopes.orderPaid(UUID.randomUUID(), 21, order));
        api.postJson("/messages", Envelopes.orderCreated(UUID.randomUUID(), 20, order, UUID.randomUUID(), "15.00"));

        // Read from the table at most once a second: the new row shows within a second or so.
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(value(api.text("/metrics"),
                "outbox_consumer_ordering_violations_total{consumer=\"loyalty\"}") - before).isEqualTo(1));
    }

    private static double delta(String before, String after, String series) {
        return value(after, series) - (before.contains(series + " ") ? value(before, series) : 0);
    }
}
