package io.outboxkit.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.nats.client.api.MessageInfo;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import io.nats.client.api.StreamConfiguration;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.ShortDeadLetter;
import io.outboxkit.testing.PrivateNatsServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A message whose dead-letter copy is too large for the server or the dead-letter stream still ends in that stream. */
class OversizedDeadLetterTest {

    private static final int MAX_PAYLOAD = 4096;

    private PrivateNatsServer server;
    private TestNats nats;

    @BeforeEach
    void startServer() throws Exception {
        Path config = Files.createTempFile("nats-small-payload", ".conf");
        Files.writeString(config, "max_payload: " + MAX_PAYLOAD + "\n");
        server = PrivateNatsServer.launch("-c", config.toString());
        nats = new TestNats(server.url());
    }

    @AfterEach
    void stopServer() throws Exception {
        nats.close();
        server.close();
    }

    @Test
    void a_message_near_max_payload_that_keeps_failing_is_dead_lettered_short_and_its_aggregate_goes_on() throws Exception {
        OutboxMessage poison = null;
        try (NatsPublisher publisher = nats.publisher().build()) {
            // the largest payload the publisher takes (it counts body, headers and the stream's header)
            for (int length = MAX_PAYLOAD; length > 0 && poison == null; length -= 20) {
                OutboxMessage candidate = TestNats.message("Order", "order-p", "OrderPaid",
                        "\"" + "x".repeat(length) + "\"", Map.of("tenant", "acme"));
                if (publisher.publishAll(List.of(candidate)).isEmpty()) {
                    poison = candidate;
                }
            }
            assertThat(poison).isNotNull();
        }
        OutboxMessage after = TestNats.message("order-p");
        try (NatsPublisher publisher = nats.publisher().build()) {
            assertThat(publisher.publishAll(List.of(after))).isEmpty();
        }
        OutboxMessage failing = poison;
        Received receiver = new Received().failing(m -> m.id().equals(failing.id()));
        NatsSource source = nats.closeAtEnd(nats.source("c1").initialBackoff(Duration.ofMillis(20))
                .maxBackoff(Duration.ofMillis(100)).reconnectWait(Duration.ofMillis(100)).maxAttempts(2).build());
        source.start(receiver);

        await().atMost(Duration.ofSeconds(20)).until(() -> receiver.hasApplied(after.id())
                || receiver.deliveriesOf(failing.id()) >= 6);
        assertThat(receiver.deadLettered()).as("dead-lettered after maxAttempts 2; deliveries so far: "
                + receiver.deliveriesOf(failing.id())).contains(failing.id().toString());
        assertThat(receiver.hasApplied(after.id())).as("the next message of its aggregate").isTrue();
        MessageInfo dead = nats.management().getMessage(nats.deadLetterStream, 1);
        assertThat(dead.getData()).as("the body, dropped").isNullOrEmpty();
        assertThat(dead.getHeaders().getFirst("id")).isEqualTo(failing.id().toString());
        assertThat(dead.getHeaders().getFirst("aggregate_id")).isEqualTo("order-p");
        assertThat(dead.getHeaders().getFirst("dead_letter_reason")).isEqualTo("failed");
        assertThat(dead.getHeaders().getFirst("dead_letter_truncated")).isEqualTo("body; headers: tenant");
        assertThat(dead.getHeaders().get("tenant")).isNull();
    }

    @Test
    void a_copy_over_the_dead_letter_streams_max_msg_size_goes_without_the_messages_own_headers_keeping_its_body()
            throws Exception {
        OutboxMessage failing = TestNats.message("Order", "order-h", "OrderPaid", "{\"n\":1}",
                Map.of("tenant", "t".repeat(900)));

        MessageInfo dead = deadLetterOfFailing(failing, TestNats.message("order-h"), 1000);

        assertThat(new String(dead.getData(), StandardCharsets.UTF_8)).isEqualTo("{\"n\":1}");
        assertThat(dead.getHeaders().getFirst("id")).isEqualTo(failing.id().toString());
        assertThat(dead.getHeaders().getFirst("dead_letter_truncated")).isEqualTo("headers: tenant");
        assertThat(dead.getHeaders().get("tenant")).isNull();
    }

    @Test
    void an_unreadable_message_with_a_huge_envelope_header_is_dead_lettered_without_it_and_the_stream_goes_on()
            throws Exception {
        nats.management().addStream(StreamConfiguration.builder().name(nats.deadLetterStream)
                .subjects(nats.deadLetterPrefix + ".>").maxMsgSize(1000).build());
        try (NatsPublisher publisher = nats.publisher().build()) { // creates the stream
            assertThat(publisher.publishAll(List.of(TestNats.message("order-t")))).isEmpty();
        }
        Headers forged = new Headers().put("id", "not-a-uuid").put("aggregate_id", "a".repeat(900));
        nats.plainConnection().jetStream().publish(NatsMessage.builder().subject(nats.subjectPrefix + ".Order.OrderCreated")
                .headers(forged).data("{}".getBytes(StandardCharsets.UTF_8)).build());
        OutboxMessage after = TestNats.message("order-u");
        try (NatsPublisher publisher = nats.publisher().build()) {
            assertThat(publisher.publishAll(List.of(after))).isEmpty();
        }
        Received receiver = new Received();
        NatsSource source = nats.closeAtEnd(nats.source("c1").initialBackoff(Duration.ofMillis(20))
                .maxBackoff(Duration.ofMillis(100)).build());
        source.start(receiver);

        await().atMost(Duration.ofSeconds(20)).until(() -> receiver.hasApplied(after.id()));
        MessageInfo dead = nats.management().getMessage(nats.deadLetterStream, 1);
        assertThat(new String(dead.getData(), StandardCharsets.UTF_8)).isEqualTo("{}");
        assertThat(dead.getHeaders().getFirst("dead_letter_reason")).isEqualTo("unreadable");
        assertThat(dead.getHeaders().getFirst("id")).isEqualTo("not-a-uuid");
        assertThat(dead.getHeaders().getFirst("dead_letter_truncated")).isEqualTo("headers: aggregate_id");
        assertThat(dead.getHeaders().get("aggregate_id")).isNull();
    }

    @Test
    void a_copy_too_large_even_with_only_its_envelope_headers_goes_with_the_dead_letter_headers_alone() throws Exception {
        // Over the stream's limit with the envelope's headers (a 200-character aggregate id, as long as a readable
        // one may be), within it with the dead_letter_* headers alone.
        String aggregateId = "a".repeat(200);
        OutboxMessage failing = TestNats.message("Order", aggregateId, "OrderPaid", "{\"n\":1}", Map.of());

        MessageInfo dead = deadLetterOfFailing(failing,
                TestNats.message("Order", aggregateId, "OrderPaid", "{\"n\":2}", Map.of()), 700);

        assertThat(dead.getData()).as("the body, dropped").isNullOrEmpty();
        String truncated = dead.getHeaders().getFirst("dead_letter_truncated");
        assertThat(truncated).startsWith("body; headers: ");
        assertThat(truncated.substring("body; headers: ".length()).split(", ")).containsExactlyInAnyOrder(
                "id", "sequence", "aggregate_type", "aggregate_id", "event_type", "created_at");
        assertThat(dead.getHeaders().get("id")).as("the envelope, dropped").isNull();
        assertThat(dead.getHeaders().get("aggregate_id")).isNull();
        assertThat(dead.getHeaders().getFirst("dead_letter_reason")).isEqualTo("failed");
        assertThat(dead.getHeaders().getFirst("dead_letter_sequence")).isEqualTo("1");
    }

    @Test
    void a_copy_too_large_only_for_its_long_error_keeps_its_body_with_the_error_cut() throws Exception {
        MessageInfo dead = deadLetterOfAMessageFailedWith("e".repeat(1500), "order-e");

        assertThat(dead.getHeaders().getFirst("dead_letter_error")).hasSize(500).endsWith("...");
        assertThat(dead.getHeaders().getFirst("dead_letter_truncated")).as("nothing of its own left out").isNullOrEmpty();
    }

    @Test
    void a_short_copys_error_escaped_for_its_ascii_header_is_cut_between_escapes() throws Exception {
        MessageInfo dead = deadLetterOfAMessageFailedWith("\u00e9".repeat(1500), "order-f");

        String error = dead.getHeaders().getFirst("dead_letter_error");
        assertThat(error.length()).isLessThanOrEqualTo(ShortDeadLetter.MAX_ERROR_LENGTH);
        assertThat(error).endsWith("\\u00e9...");
    }

    /**
     * The dead letter of a message with a 302-byte body that the receiver fails with {@code error}, to a
     * stream whose max_msg_size takes it with its body only once the error is cut; its body, kept, checked.
     */
    private MessageInfo deadLetterOfAMessageFailedWith(String error, String aggregateId) throws Exception {
        nats.management().addStream(StreamConfiguration.builder().name(nats.deadLetterStream)
                .subjects(nats.deadLetterPrefix + ".>").maxMsgSize(1800).build());
        String body = "\"" + "x".repeat(300) + "\"";
        OutboxMessage failing = TestNats.message("Order", aggregateId, "OrderPaid", body, Map.of());
        OutboxMessage after = TestNats.message(aggregateId);
        try (NatsPublisher publisher = nats.publisher().build()) {
            assertThat(publisher.publishAll(List.of(failing, after))).isEmpty();
        }
        Received receiver = new Received();
        NatsSource source = nats.closeAtEnd(nats.source("c1").initialBackoff(Duration.ofMillis(20))
                .maxBackoff(Duration.ofMillis(100)).maxAttempts(2).build());
        source.start(new io.outboxkit.core.spi.BatchReceiver() {
            @Override
            public Map<java.util.UUID, ? extends Exception> receive(List<OutboxMessage> batch) {
                return batch.stream().anyMatch(m -> m.id().equals(failing.id()))
                        ? Map.of(failing.id(), new IllegalStateException(error))
                        : receiver.receive(batch);
            }

            @Override
            public void deadLettered(OutboxMessage message, String error) {
                receiver.deadLettered(message, error);
            }
        });

        await().atMost(Duration.ofSeconds(20)).until(() -> receiver.hasApplied(after.id()));
        MessageInfo dead = nats.management().getMessage(nats.deadLetterStream, 1);
        assertThat(new String(dead.getData(), StandardCharsets.UTF_8)).as("the body, kept").isEqualTo(body);
        assertThat(dead.getHeaders().getFirst("id")).isEqualTo(failing.id().toString());
        return dead;
    }

    /**
     * The dead letter of {@code failing}, which the receiver keeps failing, in a dead-letter stream
     * whose max_msg_size is {@code maxMsgSize}; checked: it was dead-lettered and {@code after}, the
     * next message of its aggregate, applied.
     */
    private MessageInfo deadLetterOfFailing(OutboxMessage failing, OutboxMessage after, int maxMsgSize) throws Exception {
        nats.management().addStream(StreamConfiguration.builder().name(nats.deadLetterStream)
                .subjects(nats.deadLetterPrefix + ".>").maxMsgSize(maxMsgSize).build());
        try (NatsPublisher publisher = nats.publisher().build()) {
            assertThat(publisher.publishAll(List.of(failing, after))).isEmpty();
        }
        Received receiver = new Received().failing(m -> m.id().equals(failing.id()));
        NatsSource source = nats.closeAtEnd(nats.source("c1").initialBackoff(Duration.ofMillis(20))
                .maxBackoff(Duration.ofMillis(100)).maxAttempts(2).build());
        source.start(receiver);

        await().atMost(Duration.ofSeconds(20)).until(() -> receiver.hasApplied(after.id())
                || receiver.deliveriesOf(failing.id()) >= 6);
        assertThat(receiver.deadLettered()).contains(failing.id().toString());
        assertThat(receiver.hasApplied(after.id())).as("the next message of its aggregate").isTrue();
        return nats.management().getMessage(nats.deadLetterStream, 1);
    }
}
