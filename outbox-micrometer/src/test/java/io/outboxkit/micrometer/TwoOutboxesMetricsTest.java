package io.outboxkit.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxSchema;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One application with two outboxes, the metrics of each bound to the application's one registry:
 * each outbox's figures reach the registry under its own label, and a binding that would merge two
 * outboxes' meters is refused (Micrometer would keep the first outbox's gauges and drop the second's).
 */
class TwoOutboxesMetricsTest {

    private static final OutboxNames ORDERS = OutboxNames.DEFAULT;
    private static final OutboxNames BILLING = OutboxNames.inSchema("billing").withChannel("billing_outbox");

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ds -> {
        try (var c = ds.getConnection(); var s = c.createStatement()) {
            s.execute(OutboxSchema.sql(ORDERS));
            s.execute(OutboxSchema.sql(BILLING));
        }
    });

    private PrometheusMeterRegistry registry;

    @BeforeEach
    void fresh() {
        db.jdbi().useHandle(h -> h.execute("TRUNCATE outbox, billing.outbox"));
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    }

    @Test
    void labelled_outboxes_show_each_its_own_pending_messages_and_deliveries() {
        write(ORDERS, 1);
        write(BILLING, 3);
        OutboxMetrics orders = metrics(ORDERS).withOutboxLabel("orders");
        OutboxMetrics billing = metrics(BILLING).withOutboxLabel("billing");
        orders.bindTo(registry);
        billing.bindTo(registry);

        String before = registry.scrape();
        assertThat(OutboxMetricsTest.value(before, "outbox_messages{outbox=\"orders\",status=\"pending\"}")).isEqualTo(1);
        assertThat(OutboxMetricsTest.value(before, "outbox_messages{outbox=\"billing\",status=\"pending\"}")).isEqualTo(3);

        OutboxPoller.builder(db.jdbi(), message -> { }).names(BILLING).addListener(billing).build().pollOnce();

        String after = registry.scrape();
        assertThat(OutboxMetricsTest.value(after, "outbox_delivered_total{outbox=\"billing\"}")).isEqualTo(3);
        assertThat(OutboxMetricsTest.value(after, "outbox_delivered_total{outbox=\"orders\"}")).isZero();
    }

    @Test
    void a_second_outbox_bound_without_a_label_is_refused_saying_how_to_label_it() {
        metrics(ORDERS).bindTo(registry);

        assertThatThrownBy(() -> metrics(BILLING).bindTo(registry)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("one registry takes one OutboxMetrics with a monitor per outbox")
                .hasMessageContaining("withOutboxLabel(\"billing\")");
        assertThatThrownBy(() -> metrics(BILLING).withOutboxLabel("billing").bindTo(registry))
                .as("beside an unlabelled one: Prometheus wants one set of labels per name")
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void two_outboxes_bound_with_one_label_are_refused() {
        metrics(ORDERS).withOutboxLabel("shop").bindTo(registry);

        assertThatThrownBy(() -> metrics(BILLING).withOutboxLabel("shop").bindTo(registry))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("labelled outbox=\"shop\"");
    }

    @Test
    void the_events_only_metrics_of_two_consumers_share_one_registry_each_counted_under_its_consumer() {
        OutboxMetrics loyalty = OutboxMetrics.create();
        OutboxMetrics email = OutboxMetrics.create();
        loyalty.bindTo(registry);
        email.bindTo(registry);

        OutboxMessage message = new OutboxMessage(UUID.randomUUID(), 1, "Order", "o-1", "OrderCreated", "{}", Map.of(),
                Instant.now(), 1);
        loyalty.processed("loyalty", message, Duration.ofMillis(5));
        email.processed("email", message, Duration.ofMillis(5));
        email.processed("email", message, Duration.ofMillis(5));

        String text = registry.scrape();
        assertThat(OutboxMetricsTest.value(text, "outbox_consumer_messages_total{consumer=\"loyalty\",outcome=\"processed\"}"))
                .isEqualTo(1);
        assertThat(OutboxMetricsTest.value(text, "outbox_consumer_messages_total{consumer=\"email\",outcome=\"processed\"}"))
                .isEqualTo(2);
    }

    @Test
    void a_blank_label_is_refused() {
        assertThatThrownBy(() -> OutboxMetrics.create().withOutboxLabel(" "))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("the outbox label must not be blank");
    }

    private static OutboxMetrics metrics(OutboxNames names) {
        return OutboxMetrics.withMonitor(OutboxMonitor.create(db.jdbi(), names, Duration.ZERO));
    }

    private static void write(OutboxNames names, int count) {
        OutboxWriter writer = OutboxWriter.create(names);
        db.jdbi().useTransaction(h -> {
            for (int i = 0; i < count; i++) {
                writer.write(h, NewMessage.of("Invoice", "i-" + i, "InvoiceIssued", "{}"));
            }
        });
    }
}
