package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxEntry;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A delivery that fails is recorded with a clear error, retried with backoff, and DEAD after the last attempt. */
class FailedDeliveryTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply);
    @RegisterExtension
    static final Relays relays = new Relays(db, 8);
    @RegisterExtension
    static final FakeConsumer consumer = new FakeConsumer();

    static final TestOutbox outbox = new TestOutbox(db);
    final CountDownLatch releaseHungRequests = new CountDownLatch(1);
    Relay relay;

    @AfterEach
    void letHungRequestsEnd() {
        releaseHungRequests.countDown(); // before the relay closes, which waits for its deliveries
    }

    @Test
    void an_endpoint_answering_500_is_retried_until_max_attempts_then_the_message_is_dead() {
        consumer.answer(request -> new FakeConsumer.Reply(500, "boom"));
        UUID id = outbox.write(UUID.randomUUID().toString(), "OrderCreated");
        relay = relays.start(TestRelays.config(consumer.url(), "MAX_ATTEMPTS", "3"));

        await().atMost(Duration.ofSeconds(10)).until(() -> outbox.status(id) == MessageStatus.DEAD);

        OutboxEntry dead = outbox.entry(id);
        assertThat(dead.message().attempts()).isEqualTo(3);
        assertThat(dead.lastError()).contains("HTTP 500 from " + consumer.url() + ": boom");
        assertThat(consumer.received()).hasSize(3);
        assertThat(relay.stats().failed()).isEqualTo(3);
        assertThat(relay.stats().dead()).isEqualTo(1);
    }

    @Test
    void a_message_that_fails_twice_is_published_on_the_third_attempt() {
        AtomicInteger calls = new AtomicInteger();
        consumer.answer(request -> calls.incrementAndGet() <= 2
                ? new FakeConsumer.Reply(503, "{\"error\":\"database unavailable\"}") : FakeConsumer.Reply.processed());
        UUID id = outbox.write(UUID.randomUUID().toString(), "OrderCreated");
        relay = relays.start(TestRelays.config(consumer.url(), "MAX_ATTEMPTS", "5"));

        await().atMost(Duration.ofSeconds(10)).until(() -> outbox.status(id) == MessageStatus.PUBLISHED);

        assertThat(outbox.entry(id).message().attempts()).isEqualTo(3);
        assertThat(outbox.entry(id).lastError()).contains("HTTP 503 from " + consumer.url());
        assertThat(consumer.received()).extracting(r -> r.envelope().get("attempts").asInt()).containsExactly(1, 2, 3);
    }

    @Test
    void a_refused_connection_is_recorded_and_retried() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        String url = "http://127.0.0.1:" + closedPort + "/messages";
        UUID id = outbox.write(UUID.randomUUID().toString(), "OrderCreated");
        relay = relays.start(TestRelays.config(url, "MAX_ATTEMPTS", "100"));

        await().atMost(Duration.ofSeconds(10)).until(() -> outbox.entry(id).message().attempts() >= 2);

        OutboxEntry entry = outbox.entry(id);
        assertThat(entry.status()).isEqualTo(MessageStatus.PENDING);
        assertThat(entry.lastError()).contains("cannot connect to " + url);
    }

    @Test
    void an_endpoint_that_hangs_past_the_timeout_fails_as_timed_out_and_is_retried_later() {
        AtomicInteger calls = new AtomicInteger();
        consumer.answer(request -> {
            if (calls.incrementAndGet() == 1) {
                releaseHungRequests.await(10, TimeUnit.SECONDS); // hangs far past HTTP_TIMEOUT_MS
            }
            return FakeConsumer.Reply.processed();
        });
        UUID id = outbox.write(UUID.randomUUID().toString(), "OrderCreated");

        assertFailsOnceAsTimedOutThenIsPublished(id);
    }

    @Test
    void an_answer_that_trickles_in_past_the_timeout_fails_as_timed_out_and_is_retried_later() {
        consumer.trickleNextAnswer(releaseHungRequests); // a byte every 100 ms: no read ever waits 300 ms
        UUID id = outbox.write(UUID.randomUUID().toString(), "OrderCreated");

        assertFailsOnceAsTimedOutThenIsPublished(id);
    }

    /** With HTTP_TIMEOUT_MS=300: the first delivery of {@code id} times out, the second is published. */
    private void assertFailsOnceAsTimedOutThenIsPublished(UUID id) {
        relay = relays.start(TestRelays.config(consumer.url(), "HTTP_TIMEOUT_MS", "300", "LEASE_MS", "3000"));

        await().atMost(Duration.ofSeconds(10)).until(() -> outbox.status(id) == MessageStatus.PUBLISHED);

        OutboxEntry entry = outbox.entry(id);
        assertThat(entry.message().attempts()).isEqualTo(2);
        assertThat(entry.lastError()).contains("timed out after 300 ms");
    }
}
