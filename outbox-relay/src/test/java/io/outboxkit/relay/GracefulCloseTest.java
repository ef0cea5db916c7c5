package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.Database;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.ThreadPerTask;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Closing the relay (what SIGTERM does) finishes the delivery in flight and records it. */
class GracefulCloseTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply);

    static Database database;

    @BeforeAll
    static void openDatabase() {
        database = TestDatabases.open(db, 8, ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
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
            consumer.answer(request -> {
                arrived.countDown();
                answer.await(10, TimeUnit.SECONDS); // a slow consumer, answering when the test says
                return FakeConsumer.Reply.processed();
            });
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
}
