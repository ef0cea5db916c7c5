package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.delivery.Delivery;
import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.NewMessage;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** With {@code DELIVERY=batch} a claimed batch travels in one request, and each message still has its own outcome. */
class BatchDeliveryTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply);
    @RegisterExtension
    static final Relays relays = new Relays(db, 12);
    @RegisterExtension
    static final FakeConsumer consumer = new FakeConsumer();

    static final TestOutbox outbox = new TestOutbox(db);

    @Test
    void batch_is_the_default_delivery() {
        assertThat(RelayConfig.from(io.outboxkit.app.Env.of(Map.of())).delivery()).isEqualTo(Delivery.BATCH);
    }

    @Test
    void a_claimed_batch_arrives_in_one_request_to_the_batch_endpoint_and_every_message_becomes_published() {
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            ids.add(outbox.write(UUID.randomUUID().toString(), "OrderCreated"));
        }
        start("BATCH_SIZE", "100", "WORKERS", "1"); // one worker: two would race for the rows and split them

        await().atMost(Duration.ofSeconds(10)).until(() -> ids.stream().allMatch(id -> outbox.status(id) == MessageStatus.PUBLISHED));

        assertThat(consumer.batchSizes()).containsExactly(30);
        assertThat(consumer.received()).extracting(FakeConsumer.Received::id).containsExactlyElementsOf(ids);
        FakeConsumer.Received first = consumer.received().get(0);
        assertThat(first.contentType()).isEqualTo("application/json");
        assertThat(first.envelope().get("aggregate_type").asText()).isEqualTo("Order");
        assertThat(first.envelope().get("payload").get("order_id").asText())
                .isEqualTo(first.envelope().get("aggregate_id").asText());
        assertThat(first.envelope().get("headers").get("trace_id").asText()).startsWith("trace-");
        assertThat(first.envelope().get("attempts").asInt()).isEqualTo(1);
    }

    @Test
    void a_message_the_consumer_reports_failed_is_retried_alone_while_the_others_are_published() {
        UUID good = outbox.write(UUID.randomUUID().toString(), "OrderCreated");
        UUID bad = outbox.write(UUID.randomUUID().toString(), "OrderCreated");
        AtomicInteger badCalls = new AtomicInteger();
        consumer.answer(request -> request.id().equals(bad) && badCalls.incrementAndGet() == 1
                ? new FakeConsumer.Reply(422, "payload is invalid: amount") : FakeConsumer.Reply.processed());
        start("MAX_ATTEMPTS", "5", "WORKERS", "1");

        await().atMost(Duration.ofSeconds(10)).until(() -> outbox.status(bad) == MessageStatus.PUBLISHED);

        assertThat(outbox.entry(good).message().attempts()).isEqualTo(1);
        assertThat(outbox.entry(bad).message().attempts()).isEqualTo(2);
        assertThat(outbox.entry(bad).lastError()).contains("answered failed: payload is invalid: amount");
        assertThat(consumer.batchSizes()).containsExactly(2, 1);
    }

    @Test
    void a_batch_request_answered_with_an_error_fails_every_message_of_it_and_is_retried() {
        consumer.answerBatches(new FakeConsumer.Reply(503, "{\"error\":\"database unavailable\"}"));
        UUID a = outbox.write(UUID.randomUUID().toString(), "OrderCreated");
        UUID b = outbox.write(UUID.randomUUID().toString(), "OrderCreated");
        start("MAX_ATTEMPTS", "10");

        await().atMost(Duration.ofSeconds(10)).until(() -> outbox.entry(a).message().attempts() >= 2
                && outbox.entry(b).message().attempts() >= 2);
        assertThat(outbox.entry(a).lastError()).contains("HTTP 503 from " + consumer.url() + "/batch");
        assertThat(outbox.status(b)).isEqualTo(MessageStatus.PENDING);

        consumer.answerBatches(null);
        await().atMost(Duration.ofSeconds(10)).until(() -> outbox.status(a) == MessageStatus.PUBLISHED
                && outbox.status(b) == MessageStatus.PUBLISHED);
    }

    @Test
    void a_message_missing_from_the_answer_is_a_failed_delivery() {
        consumer.answerBatches(new FakeConsumer.Reply(200, "{\"results\":[]}"));
        UUID id = outbox.write(UUID.randomUUID().toString(), "OrderCreated");
        start("MAX_ATTEMPTS", "2");

        await().atMost(Duration.ofSeconds(10)).until(() -> outbox.status(id) == MessageStatus.DEAD);

        assertThat(outbox.entry(id).lastError()).contains("has no result for it");
    }

    @Test
    void several_relays_delivering_batches_keep_each_aggregates_order() {
        Map<String, List<UUID>> writtenByOrder = new LinkedHashMap<>();
        for (int round = 0; round < 5; round++) {
            List<NewMessage> messages = new ArrayList<>();
            for (int o = 0; o < 20; o++) {
                messages.add(TestOutbox.message("order-" + o, "OrderEvent" + round));
            }
            List<UUID> ids = outbox.writeAll(messages);
            for (int o = 0; o < 20; o++) {
                writtenByOrder.computeIfAbsent("order-" + o, k -> new ArrayList<>()).add(ids.get(o));
            }
        }
        start("RELAY_NAME", "relay-a", "BATCH_SIZE", "7");
        start("RELAY_NAME", "relay-b", "BATCH_SIZE", "7");

        await().atMost(Duration.ofSeconds(30)).until(() -> writtenByOrder.values().stream().flatMap(List::stream)
                .allMatch(id -> outbox.status(id) == MessageStatus.PUBLISHED));

        assertThat(consumer.idsByAggregate()).isEqualTo(writtenByOrder);
        assertThat(consumer.batchSizes()).allMatch(size -> size <= 7);
    }

    private void start(String... overrides) {
        List<String> settings = new ArrayList<>(List.of("DELIVERY", "batch"));
        settings.addAll(List.of(overrides));
        relays.start(TestRelays.config(consumer.url(), settings.toArray(String[]::new)));
    }
}
