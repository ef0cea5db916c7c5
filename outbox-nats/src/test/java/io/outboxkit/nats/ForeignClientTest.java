package io.outboxkit.nats;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.Subscription;
import io.nats.client.api.MessageInfo;
import io.nats.client.impl.Headers;
import io.outboxkit.core.OutboxMessage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What a client that is not ours sees of a published message: plain jnats, no outboxkit class. */
class ForeignClientTest {

    private final TestNats nats = TestNats.shared();

    @AfterEach
    void cleanUp() throws Exception {
        nats.close();
    }

    @Test
    void a_plain_jnats_client_reads_subject_headers_and_body_as_documented() throws Exception {
        OutboxMessage message = TestNats.message("Order", "order-42", "OrderPaid", "{\"order_id\":\"order-42\",\"amount\":12.50}",
                Map.of("trace_id", "abc-123"));
        Connection plain = nats.plainConnection();
        try (NatsPublisher publisher = nats.publisher().build()) {
            Subscription live = plain.subscribe(nats.subjectPrefix + ".Order.*");
            plain.flush(Duration.ofSeconds(2));
            assertThat(publisher.publishAll(List.of(message))).isEmpty();

            Message seen = live.nextMessage(Duration.ofSeconds(5));
            assertThat(seen).isNotNull();
            assertThat(seen.getSubject()).isEqualTo(nats.subjectPrefix + ".Order.OrderPaid");
        }

        MessageInfo stored = plain.jetStreamManagement().getMessage(nats.stream, 1);
        assertThat(stored.getSubject()).isEqualTo(nats.subjectPrefix + ".Order.OrderPaid");
        assertThat(new String(stored.getData(), StandardCharsets.UTF_8)).isEqualTo("{\"order_id\":\"order-42\",\"amount\":12.50}");
        Headers headers = stored.getHeaders();
        assertThat(headers.getFirst("id")).isEqualTo(message.id().toString());
        assertThat(headers.getFirst("Nats-Msg-Id")).isEqualTo(message.id().toString());
        assertThat(headers.getFirst("sequence")).isEqualTo(Long.toString(message.sequence()));
        assertThat(headers.getFirst("aggregate_type")).isEqualTo("Order");
        assertThat(headers.getFirst("aggregate_id")).isEqualTo("order-42");
        assertThat(headers.getFirst("event_type")).isEqualTo("OrderPaid");
        assertThat(headers.getFirst("created_at")).isEqualTo(message.createdAt().toString());
        assertThat(headers.getFirst("trace_id")).isEqualTo("abc-123");
        assertThat(headers.keySet()).containsExactlyInAnyOrder("id", "sequence", "aggregate_type", "aggregate_id",
                "event_type", "created_at", "trace_id", "Nats-Msg-Id", "Nats-Expected-Stream");
    }
}
