package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Messages committed to the outbox reach the consumer as envelopes and become PUBLISHED. */
class DeliveryTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply);
    @RegisterExtension
    static final Relays relays = new Relays(db, 12);
    @RegisterExtension
    static final FakeConsumer consumer = new FakeConsumer();

    static final TestOutbox outbox = new TestOutbox(db);

    @Test
    void each_message_arrives_as_a_json_envelope_with_its_id_in_a_header_and_becomes_published() {
        String order = UUID.randomUUID().toString();
        UUID id = outbox.write(order, "OrderCreated");
        relays.start(TestRelays.config(consumer.url()));

        await().atMost(Duration.ofSeconds(10)).until(() -> outbox.status(id) == MessageStatus.PUBLISHED);

        assertThat(consumer.received()).hasSize(1);
        FakeConsumer.Received request = consumer.received().get(0);
        assertThat(request.messageIdHeader()).isEqualTo(id);
        assertThat(request.contentType()).isEqualTo("application/json");
        assertThat(request.id()).isEqualTo(id);
        assertThat(request.envelope().get("event_type").asText()).isEqualTo("OrderCreated");
        assertThat(request.envelope().get("aggregate_type").asText()).isEqualTo("Order");
        assertThat(request.envelope().get("aggregate_id").asText()).isEqualTo(order);
        assertThat(request.envelope().get("payload").get("order_id").asText()).isEqualTo(order);
        assertThat(request.envelope().get("headers").get("trace_id").asText()).isEqualTo("trace-" + order);
        assertThat(request.envelope().get("sequence").asLong()).isPositive();
        assertThat(request.envelope().get("attempts").asInt()).isEqualTo(1);
        assertThat(outbox.entry(id).publishedAt()).isNotNull();
    }

    @Test
    void the_messages_of_one_aggregate_arrive_in_write_order() {
        String order = UUID.randomUUID().toString();
        List<NewMessage> messages = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            messages.add(TestOutbox.message(order, "OrderEvent" + i));
        }
        List<UUID> ids = outbox.writeAll(messages);
        relays.start(TestRelays.config(consumer.url()));

        await().atMost(Duration.ofSeconds(20)).until(() -> outbox.status(ids.get(ids.size() - 1)) == MessageStatus.PUBLISHED);

        assertThat(consumer.received()).extracting(FakeConsumer.Received::id).containsExactlyElementsOf(ids);
    }

    @Test
    void the_messages_of_a_batch_are_delivered_concurrently() {
        int messages = 8;
        CountDownLatch allArrived = new CountDownLatch(messages);
        consumer.answer(request -> {
            allArrived.countDown();
            allArrived.await(5, TimeUnit.SECONDS); // returns at once when the relay sends them together
            return FakeConsumer.Reply.processed();
        });
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < messages; i++) {
            ids.add(outbox.write(UUID.randomUUID().toString(), "OrderCreated"));
        }
        relays.start(TestRelays.config(consumer.url(), "HTTP_TIMEOUT_MS", "10000", "LEASE_MS", "30000"));

        await().atMost(Duration.ofSeconds(20)).until(() -> ids.stream().allMatch(id -> outbox.status(id) == MessageStatus.PUBLISHED));

        assertThat(consumer.maxInFlight()).isEqualTo(messages);
    }

    @Test
    void several_relays_share_one_outbox_and_keep_each_aggregates_order() {
        Map<String, List<UUID>> writtenByOrder = new LinkedHashMap<>();
        for (int round = 0; round < 5; round++) {
            for (int o = 0; o < 10; o++) {
                String order = "order-" + o;
                writtenByOrder.computeIfAbsent(order, k -> new ArrayList<>()).add(outbox.write(order, "OrderEvent" + round));
            }
        }
        relays.start(TestRelays.config(consumer.url(), "RELAY_NAME", "relay-a", "BATCH_SIZE", "3"));
        relays.start(TestRelays.config(consumer.url(), "RELAY_NAME", "relay-b", "BATCH_SIZE", "3"));
        assertThat(relays.started()).extracting(Relay::name).containsExactly("relay-a", "relay-b");

        await().atMost(Duration.ofSeconds(30)).until(() -> writtenByOrder.values().stream().flatMap(List::stream)
                .allMatch(id -> outbox.status(id) == MessageStatus.PUBLISHED));

        assertThat(consumer.idsByAggregate()).isEqualTo(writtenByOrder);
        assertThat(relays.started().get(0).stats().delivered() + relays.started().get(1).stats().delivered())
                .isEqualTo(50);
    }

    @Test
    void retention_removes_published_messages_once_they_are_old_enough() {
        UUID id = outbox.write(UUID.randomUUID().toString(), "OrderCreated");
        relays.start(TestRelays.config(consumer.url(), "RETENTION_PUBLISHED_MS", "0", "RETENTION_INTERVAL_MS", "100"));

        await().atMost(Duration.ofSeconds(10)).until(() -> outbox.find(id).isEmpty());

        assertThat(consumer.received()).extracting(FakeConsumer.Received::id).containsExactly(id);
    }
}
