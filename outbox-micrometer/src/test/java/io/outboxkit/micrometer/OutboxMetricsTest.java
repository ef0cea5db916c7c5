package io.outboxkit.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.outboxkit.core.IdempotentHandler;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxSchema;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.PublishException;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The meters as the Prometheus registry writes them, after real deliveries through a real outbox. */
class OutboxMetricsTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ds -> {
        try (var c = ds.getConnection(); var s = c.createStatement()) {
            s.execute(OutboxSchema.sql(OutboxNames.DEFAULT));
        }
    });

    private PrometheusMeterRegistry registry;
    private OutboxMetrics metrics;

    @BeforeEach
    void fresh() {
        db.jdbi().useHandle(h -> h.execute("TRUNCATE outbox, processed_messages"));
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        metrics = OutboxMetrics.withMonitor(OutboxMonitor.create(db.jdbi(), OutboxNames.DEFAULT, Duration.ZERO));
        metrics.bindTo(registry);
    }

    @Test
    void after_n_deliveries_the_counters_say_n_and_every_failure_is_counted_by_reason() {
        List<UUID> ids = write(7);
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), message -> {
            if (message.id().equals(ids.get(0))) {
                throw new PublishException(FailureReason.REFUSED, "HTTP 422");
            }
            if (message.id().equals(ids.get(1))) {
                throw new java.net.ConnectException("Connection refused");
            }
        }).maxAttempts(1).addListener(metrics).build();

        poller.pollOnce();

        String text = registry.scrape();
        assertThat(value(text, "outbox_delivered_total")).isEqualTo(5);
        assertThat(value(text, "outbox_delivery_failures_total{reason=\"refused\"}")).isEqualTo(1);
        assertThat(value(text, "outbox_delivery_failures_total{reason=\"unavailable\"}")).isEqualTo(1);
        assertThat(value(text, "outbox_delivery_failures_total{reason=\"timeout\"}")).isZero();
        assertThat(value(text, "outbox_dead_total")).isEqualTo(2);
        assertThat(value(text, "outbox_delivery_latency_seconds_count")).isEqualTo(5);
        assertThat(value(text, "outbox_claim_duration_seconds_count")).isEqualTo(1);
        assertThat(value(text, "outbox_batch_size_count")).isEqualTo(1);
        assertThat(value(text, "outbox_batch_size_sum")).isEqualTo(7);
        assertThat(value(text, "outbox_messages{status=\"dead\"}")).isEqualTo(2);
        assertThat(value(text, "outbox_messages{status=\"pending\"}")).isZero();
        assertThat(text).contains("outbox_delivery_latency_seconds_bucket{le=\"0.005\"}")
                .contains("# TYPE outbox_delivery_latency_seconds histogram")
                .contains("# TYPE outbox_delivered_total counter")
                .contains("# TYPE outbox_messages gauge")
                .contains("outbox_poll_errors_total");
    }

    @Test
    void with_a_message_pending_for_10_s_the_oldest_pending_age_says_about_10_s() {
        UUID id = write(1).get(0);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET created_at = now() - interval '10 seconds' WHERE id = ?", id));

        String text = registry.scrape();

        assertThat(value(text, "outbox_oldest_pending_age_seconds")).isBetween(9.9, 12.0);
        assertThat(value(text, "outbox_messages{status=\"pending\"}")).isEqualTo(1);
        assertThat(text).contains("# TYPE outbox_oldest_pending_age_seconds gauge");
    }

    @Test
    void the_consumer_counts_each_outcome_and_the_lag_from_write_to_effect() {
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", (tx, m) -> {
            if (m.eventType().equals("Poison")) {
                throw new IllegalArgumentException("cannot apply");
            }
        }).withListener(metrics);
        OutboxMessage old = message("OrderCreated", Instant.now().minusSeconds(10));
        handler.handleAll(List.of(old, message("OrderCreated", Instant.now()), message("Poison", Instant.now())));
        handler.handle(old);

        String text = registry.scrape();
        assertThat(value(text, "outbox_consumer_messages_total{consumer=\"loyalty\",outcome=\"processed\"}")).isEqualTo(2);
        assertThat(value(text, "outbox_consumer_messages_total{consumer=\"loyalty\",outcome=\"duplicate\"}")).isEqualTo(1);
        assertThat(value(text, "outbox_consumer_messages_total{consumer=\"loyalty\",outcome=\"failed\"}")).isEqualTo(1);
        assertThat(value(text, "outbox_consumer_lag_seconds_count{consumer=\"loyalty\"}")).isEqualTo(2);
        assertThat(value(text, "outbox_consumer_lag_seconds_max{consumer=\"loyalty\"}")).isBetween(9.9, 15.0);
    }

    @Test
    void the_gauges_are_nan_while_the_outbox_cannot_be_read_and_events_need_no_monitor() {
        PrometheusMeterRegistry other = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        OutboxMetrics.withMonitor(OutboxMonitor.create(db.jdbi(), OutboxNames.DEFAULT.withOutboxTable("missing"))).bindTo(other);
        assertThat(value(other.scrape(), "outbox_oldest_pending_age_seconds")).isNaN();

        PrometheusMeterRegistry events = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        OutboxMetrics eventsOnly = OutboxMetrics.create();
        eventsOnly.bindTo(events);
        eventsOnly.pollFailed(new IllegalStateException("database down"));
        assertThat(value(events.scrape(), "outbox_poll_errors_total")).isEqualTo(1);
        assertThat(events.scrape()).contains("outbox_delivered_total").doesNotContain("outbox_messages");
        assertThatThrownBy(() -> metrics.bindTo(other)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void metrics_without_a_monitor_hold_no_poller_meter_until_a_poller_event_so_a_consumer_serves_only_its_own() {
        PrometheusMeterRegistry consumer = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        OutboxMetrics consumerMetrics = OutboxMetrics.create();
        consumerMetrics.bindTo(consumer);
        consumerMetrics.processed("loyalty", message("OrderCreated", Instant.now()), Duration.ZERO);
        assertThat(consumer.scrape()).contains("outbox_consumer_messages_total")
                .doesNotContain("outbox_delivered_total", "outbox_dead_total", "outbox_poll_errors_total",
                        "outbox_delivery_failures_total", "outbox_delivery_latency_seconds", "outbox_claim_duration_seconds",
                        "outbox_batch_size");

        consumerMetrics.claimed(2, Duration.ofMillis(1));
        assertThat(value(consumer.scrape(), "outbox_batch_size_count")).isEqualTo(1);
        assertThat(value(consumer.scrape(), "outbox_delivered_total")).isZero();
    }

    @Test
    void a_delivered_batch_counts_each_message_once_timed_from_its_write_and_a_write_stamped_after_the_confirmation_as_zero() {
        Instant confirmed = Instant.parse("2026-12-04T10:00:00.500Z");
        metrics.deliveredBatch(List.of(message("A", confirmed.minusMillis(3)), message("B", confirmed.minusMillis(40)),
                message("C", confirmed.plusMillis(2))), confirmed); // C: the database's clock ahead of this machine's

        String text = registry.scrape();
        assertThat(value(text, "outbox_delivered_total")).isEqualTo(3);
        assertThat(value(text, "outbox_delivery_latency_seconds_count")).isEqualTo(3);
        assertThat(value(text, "outbox_delivery_latency_seconds_bucket{le=\"0.001\"}")).isEqualTo(1);
        assertThat(value(text, "outbox_delivery_latency_seconds_bucket{le=\"0.005\"}")).isEqualTo(2);
        assertThat(value(text, "outbox_delivery_latency_seconds_bucket{le=\"0.025\"}")).isEqualTo(2);
        assertThat(value(text, "outbox_delivery_latency_seconds_bucket{le=\"0.05\"}")).isEqualTo(3);
        assertThat(value(text, "outbox_delivery_latency_seconds_sum")).isCloseTo(0.043, org.assertj.core.data.Offset.offset(1e-9));
    }

    @Test
    void no_label_takes_a_value_per_message() {
        write(20);
        OutboxPoller.builder(db.jdbi(), m -> { }).addListener(metrics).build().pollOnce();
        IdempotentHandler.create(db.jdbi(), "loyalty", (tx, m) -> { }).withListener(metrics)
                .handle(message("OrderCreated", Instant.now()));
        String text = registry.scrape();
        // Every sample line: no UUID and no aggregate id in any label.
        assertThat(text.lines().filter(l -> !l.startsWith("#"))).allSatisfy(line ->
                assertThat(line).doesNotContainPattern("[0-9a-f]{8}-[0-9a-f]{4}-").doesNotContain("agg-"));
    }

    private static List<UUID> write(int count) {
        OutboxWriter writer = OutboxWriter.create();
        return db.jdbi().inTransaction(h -> {
            List<UUID> ids = new java.util.ArrayList<>();
            for (int i = 0; i < count; i++) {
                ids.add(writer.write(h, NewMessage.of("Order", "agg-" + i, "OrderCreated", "{}")));
            }
            return ids;
        });
    }

    private static OutboxMessage message(String type, Instant createdAt) {
        return new OutboxMessage(UUID.randomUUID(), 1, "Order", "agg-x", type, "{}", Map.of(), createdAt, 1);
    }

    /** The value of the sample {@code series} (a name, with its labels as written) in Prometheus' text format. */
    static double value(String text, String series) {
        Matcher line = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(text);
        assertThat(line.find()).as("a sample %s in:%n%s", series, text).isTrue();
        return Double.parseDouble(line.group(1));
    }
}
