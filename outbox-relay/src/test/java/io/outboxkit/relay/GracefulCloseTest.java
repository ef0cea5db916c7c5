package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.Database;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxEntry;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.ThreadPerTask;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Closing the relay (what SIGTERM does) finishes the deliveries in flight and records them; the
 * requests it has not sent are not sent, and their messages are given back uncounted.
 */
class GracefulCloseTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply);

    static Database database;

    @BeforeAll
    static void openDatabase() {
        database = TestDatabases.open(db, 8, ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
    }

    @BeforeEach
    void emptyOutbox() {
        db.jdbi().useHandle(h -> h.execute("DELETE FROM outbox")); // a test's messages given back stay due
    }

    @AfterAll
    static void closeDatabase() {
        database.close();
    }

    @Test
    void close_waits_for_the_delivery_in_flight_and_the_message_ends_published() throws Exception {
        CountDownLatch arrived = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        try (FakeConsumer consumer = new FakeConsumer()) {
            holdRequests(consumer, arrived, answer);
            TestOutbox outbox = new TestOutbox(db);
            UUID id = outbox.write(UUID.randomUUID().toString(), "OrderCreated");
            Relay relay = Relay.start(database, TestRelays.config(consumer.url(), "HTTP_TIMEOUT_MS", "15000",
                    "LEASE_MS", "30000"));
            assertThat(arrived.await(10, TimeUnit.SECONDS)).as("delivery started").isTrue();

            CompletableFuture<Void> closing = CompletableFuture.runAsync(relay::close, ThreadPerTask.INSTANCE);
            await().atMost(Duration.ofSeconds(5)).until(() -> !relay.isRunning());
            assertThat(closing).as("close waits for the delivery in flight").isNotDone();
            answer.countDown();
            closing.get(20, TimeUnit.SECONDS);

            assertThat(outbox.status(id)).isEqualTo(MessageStatus.PUBLISHED);
            assertThat(consumer.received()).hasSize(1);
        }
    }

    @Test
    void close_sends_none_of_the_requests_queued_behind_those_in_flight_and_gives_them_back_uncounted() throws Exception {
        CountDownLatch arrived = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        try (FakeConsumer consumer = new FakeConsumer()) {
            holdRequests(consumer, arrived, answer);
            TestOutbox outbox = new TestOutbox(db);
            List<UUID> ids = outbox.writeAll(List.of(TestOutbox.message("q-1", "OrderCreated"),
                    TestOutbox.message("q-2", "OrderCreated"), TestOutbox.message("q-3", "OrderCreated")));
            // One batch of three, one request in flight: the other two queue behind it.
            Relay relay = Relay.start(database, TestRelays.config(consumer.url(), "WORKERS", "1", "MAX_IN_FLIGHT", "1",
                    "HTTP_TIMEOUT_MS", "15000", "LEASE_MS", "30000"));
            assertThat(arrived.await(10, TimeUnit.SECONDS)).as("delivery started").isTrue();

            CompletableFuture<Void> closing = CompletableFuture.runAsync(relay::close, ThreadPerTask.INSTANCE);
            await().atMost(Duration.ofSeconds(5)).until(() -> !relay.isRunning());
            answer.countDown();
            closing.get(20, TimeUnit.SECONDS);

            assertThat(consumer.received()).as("requests sent: only the one in flight at close").hasSize(1);
            UUID sent = consumer.received().get(0).id();
            assertThat(outbox.status(sent)).isEqualTo(MessageStatus.PUBLISHED);
            assertThat(ids).filteredOn(id -> !id.equals(sent)).hasSize(2).allSatisfy(id -> {
                OutboxEntry entry = outbox.entry(id);
                assertThat(entry.status()).isEqualTo(MessageStatus.PENDING);
                assertThat(entry.message().attempts()).as("no attempt spent: never sent").isZero();
                assertThat(entry.lastError()).as("no failure recorded").isNull();
                assertThat(entry.lockedBy()).as("claimable at once by another relay").isNull();
            });
        }
    }

    /** A slow consumer: it holds each request until {@code answer} is counted down, counting {@code arrived} down first. */
    private static void holdRequests(FakeConsumer consumer, CountDownLatch arrived, CountDownLatch answer) {
        consumer.answer(request -> {
            arrived.countDown();
            answer.await(10, TimeUnit.SECONDS);
            return FakeConsumer.Reply.processed();
        });
    }
}
