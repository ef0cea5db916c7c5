package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.delivery.Delivery;
import io.outboxkit.app.delivery.HttpPublisher;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxEntry;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.testing.PostgresExtension;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A payload OutboxWriter accepts with its default maxPayloadBytes (1 MiB) is one the HTTP consumer
 * takes: a message the writer accepted, read back from the outbox as PostgreSQL prints it and
 * delivered by the relay's HttpPublisher, reaches the real consumer, singly or in a batch, however
 * deep it nests or long its numbers are; what the consumer does not read of it is ignored.
 */
class WriterLimitDeliveryTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply);

    @RegisterExtension
    static final RunningConsumer consumer = new RunningConsumer(db, 4);

    @BeforeEach
    void cleanSlate() {
        db.truncateAll();
    }

    @Test
    void a_payload_just_under_the_writers_default_limit_is_delivered_to_the_http_consumer() throws Exception {
        // 1,048,492 bytes of UTF-8, under OutboxWriter.DEFAULT_MAX_PAYLOAD_BYTES (1,048,576), in strings
        // shorter than any string limit: only the envelope around it is added on the wire
        String chunk = "x".repeat(349_490);
        String payload = "{\"a\":\"" + chunk + "\",\"b\":\"" + chunk + "\",\"c\":\"" + chunk + "\"}";
        assertThat(payload.getBytes(StandardCharsets.UTF_8).length).isEqualTo(1_048_492)
                .isLessThan(OutboxWriter.DEFAULT_MAX_PAYLOAD_BYTES);

        assertDelivered(writeAndReadBack(payload));
    }

    @Test
    void a_payload_with_one_long_string_under_the_writers_limit_is_delivered_to_the_http_consumer() throws Exception {
        // one string of 1,000,001 characters: 1,000,012 bytes, under the writer's 1 MiB
        String payload = "{\"note\":\"" + "x".repeat(1_000_001) + "\"}";
        assertThat(payload.getBytes(StandardCharsets.UTF_8).length).isLessThan(OutboxWriter.DEFAULT_MAX_PAYLOAD_BYTES);

        assertDelivered(writeAndReadBack(payload));
    }

    @Test
    void a_compact_payload_the_writer_counted_under_the_limit_is_delivered_as_stored() throws Exception {
        // 500,000 numbers written compactly: 1,000,001 bytes, which the writer counts and accepts
        String payload = "[" + "1,".repeat(499_999) + "1]";
        assertThat(payload.getBytes(StandardCharsets.UTF_8).length).isLessThan(OutboxWriter.DEFAULT_MAX_PAYLOAD_BYTES);

        assertDelivered(writeAndReadBack(payload));
    }

    @Test
    void an_order_whose_payload_nests_an_ignored_field_deeper_than_an_api_body_may_is_applied() throws Exception {
        UUID order = UUID.randomUUID();
        OutboxMessage deep = writeOrder(order, ",\"meta\":" + nested(65));

        assertThat(publish(Delivery.SINGLE, List.of(deep))).as("single delivery of an OrderCreated with a 65-deep extra field").isEmpty();
        assertThat(consumer.api().get("/orders/" + order + "/status").body().path("status").asText()).isEqualTo("CREATED");
    }

    @Test
    void a_valid_message_batched_with_one_whose_payload_nests_65_deep_is_delivered_and_so_is_that_one() throws Exception {
        UUID good = UUID.randomUUID();
        UUID deep = UUID.randomUUID();
        OutboxMessage a = writeOrder(good, "");
        OutboxMessage b = writeOrder(deep, ",\"meta\":" + nested(65));

        assertThat(publish(Delivery.BATCH, List.of(a, b))).as("failures of a batch [valid, 65-deep extra field]").isEmpty();
    }

    @Test
    void a_valid_message_batched_with_one_whose_payload_has_a_101_digit_number_is_delivered_and_so_is_that_one() throws Exception {
        UUID good = UUID.randomUUID();
        UUID big = UUID.randomUUID();
        OutboxMessage a = writeOrder(good, "");
        OutboxMessage b = writeOrder(big, ",\"ref\":" + "1".repeat(101) + ",\"ratio\":0." + "1".repeat(16_000));

        assertThat(publish(Delivery.BATCH, List.of(a, b))).as("failures of a batch [valid, 101-digit number]").isEmpty();
    }

    @Test
    void a_payload_single_delivery_takes_is_taken_by_batch_delivery_too_whatever_the_batch_wrapper_adds() throws Exception {
        UUID order = UUID.randomUUID();
        OutboxMessage m = writeOrder(order, ",\"meta\":" + nested(62));

        assertThat(publish(Delivery.SINGLE, List.of(m))).as("single delivery (processed)").isEmpty();
        assertThat(publish(Delivery.BATCH, List.of(m))).as("batch delivery of the same message (a duplicate by now)").isEmpty();
    }

    @Test
    void a_payload_nesting_as_deep_as_jsonb_stores_reaches_the_http_consumer() throws Exception {
        assertDelivered(writeAndReadBack("{\"a\":" + nested(10_000) + "}"));
    }

    @Test
    void the_relay_publishes_a_valid_message_that_rode_in_one_batch_with_a_deeply_nested_one() {
        UUID good = UUID.randomUUID();
        UUID deep = UUID.randomUUID();
        OutboxMessage a = writeOrder(good, "");
        OutboxMessage b = writeOrder(deep, ",\"meta\":" + nested(65));
        OutboxAdmin admin = OutboxAdmin.create(db.jdbi());

        try (HttpPublisher publisher = HttpPublisher.builder(messagesUrl()).build();
             OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).maxAttempts(3)
                     .backoff(Duration.ofMillis(50), Duration.ofMillis(50)).jitter(0).pollInterval(Duration.ofMillis(100)).build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(30)).until(() -> admin.find(a.id()).orElseThrow().status() != MessageStatus.PENDING
                    && admin.find(b.id()).orElseThrow().status() != MessageStatus.PENDING);
        }

        for (OutboxMessage message : List.of(a, b)) {
            OutboxEntry entry = admin.find(message.id()).orElseThrow();
            assertThat(entry.status()).as("message %s; its last error: %s", message.id(), entry.lastError())
                    .isEqualTo(MessageStatus.PUBLISHED);
        }
    }

    /** An OrderCreated payload for {@code orderId} with {@code extra} (",\"name\":value" or "") added. */
    private static OutboxMessage writeOrder(UUID orderId, String extra) {
        String payload = "{\"order_id\":\"" + orderId + "\",\"user_id\":\"" + UUID.randomUUID() + "\",\"amount\":12.50" + extra + "}";
        OutboxWriter writer = OutboxWriter.create();
        UUID id = db.jdbi().inTransaction(h -> writer.write(h, NewMessage.of("Order", orderId.toString(), "OrderCreated", payload)));
        return OutboxAdmin.create(db.jdbi()).find(id).orElseThrow().message();
    }

    /** Arrays nested {@code depth} deep. */
    private static String nested(int depth) {
        return "[".repeat(depth) + "]".repeat(depth);
    }

    private static URI messagesUrl() {
        return URI.create("http://127.0.0.1:" + consumer.app().port() + "/messages");
    }

    private static Map<UUID, Exception> publish(Delivery delivery, List<OutboxMessage> messages) throws Exception {
        try (HttpPublisher publisher = HttpPublisher.builder(messagesUrl()).delivery(delivery).build()) {
            return publisher.publishAll(messages);
        }
    }

    private static OutboxMessage writeAndReadBack(String payload) {
        OutboxWriter writer = OutboxWriter.create();
        UUID id = db.jdbi().inTransaction(h -> writer.write(h,
                NewMessage.of("Note", UUID.randomUUID().toString(), "NoteAdded", payload)));
        return OutboxAdmin.create(db.jdbi()).find(id).orElseThrow().message();
    }

    private static void assertDelivered(OutboxMessage message) throws Exception {
        try (HttpPublisher publisher = HttpPublisher.builder(messagesUrl()).build()) {
            Map<UUID, Exception> failures = publisher.publishAll(List.of(message));
            assertThat(failures).as("a message of %s payload characters as stored, which the writer accepted",
                    message.payload().length()).isEmpty();
        }
    }
}
