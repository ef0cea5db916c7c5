package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.SecondClose;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class AtLeastOnceDeliveryTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @Test
    void every_committed_message_is_delivered_and_marked_published() {
        List<UUID> ids = Outbox.write(db.jdbi(), 20, 3);
        RecordingPublisher publisher = new RecordingPublisher();
        try (OutboxPoller poller = fastPoller(publisher).build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(20)).until(() -> Outbox.count(db.jdbi(), "PUBLISHED") == ids.size());
            assertThat(ids).allMatch(publisher::delivered);
            assertThat(poller.stats().delivered()).isEqualTo(ids.size());
        }
    }

    @Test
    void a_publisher_that_throws_mid_batch_loses_nothing() {
        List<UUID> ids = Outbox.write(db.jdbi(), 30, 1);
        AtomicInteger calls = new AtomicInteger();
        MessagePublisher dyingMidBatch = new MessagePublisher() {
            private final RecordingPublisher inner = new RecordingPublisher();

            @Override
            public void publish(OutboxMessage message) {
                inner.publish(message);
            }

            @Override
            public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
                if (calls.incrementAndGet() == 1) {
                    // Delivers half the batch, then dies: the whole batch counts as failed and is retried.
                    batch.subList(0, batch.size() / 2).forEach(inner::publish);
                    throw new IllegalStateException("publisher crashed mid-batch");
                }
                return MessagePublisher.super.publishAll(batch);
            }
        };
        try (OutboxPoller poller = fastPoller(dyingMidBatch).build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(20)).until(() -> Outbox.count(db.jdbi(), "PUBLISHED") == ids.size());
        }
        assertThat(calls.get()).isGreaterThan(1);
        assertThat(Outbox.count(db.jdbi(), "DEAD")).isZero();
    }

    @Test
    void an_abandoned_claim_is_delivered_by_another_poller_after_the_lease_and_not_before() throws Exception {
        List<UUID> ids = Outbox.write(db.jdbi(), 10, 1);
        CountDownLatch hung = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        MessagePublisher hangs = message -> {
            hung.countDown();
            release.await(); // a process that stopped answering while holding its claim
        };
        Duration lease = Duration.ofSeconds(2);
        OutboxPoller stuck = fastPoller(hangs).lease(lease).name("stuck").build();
        Thread stuckThread = new Thread(stuck::pollOnce);
        stuckThread.start();
        assertThat(hung.await(10, TimeUnit.SECONDS)).isTrue();
        long claimedAt = System.nanoTime();

        RecordingPublisher rescuer = new RecordingPublisher();
        try (OutboxPoller healthy = fastPoller(rescuer).lease(lease).name("healthy").build()) {
            assertThat(healthy.pollOnce()).as("leased messages are not claimable").isZero();
            healthy.start();
            await().atMost(Duration.ofSeconds(20)).until(() -> Outbox.count(db.jdbi(), "PUBLISHED") == ids.size());
        }
        assertThat(Duration.ofNanos(System.nanoTime() - claimedAt)).isGreaterThanOrEqualTo(lease.minusMillis(100));
        assertThat(ids).allMatch(rescuer::delivered);
        release.countDown();
        stuckThread.join(10_000);
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isEqualTo(ids.size());
    }

    @Test
    void close_finishes_the_batch_in_flight() throws Exception {
        List<UUID> ids = Outbox.write(db.jdbi(), 5, 1);
        CountDownLatch inFlight = new CountDownLatch(1);
        MessagePublisher slow = message -> {
            inFlight.countDown();
            Thread.sleep(200); // a slow broker, so close() happens mid-batch
        };
        OutboxPoller poller = fastPoller(slow).build();
        poller.start();
        assertThat(inFlight.await(10, TimeUnit.SECONDS)).isTrue();
        poller.close();
        assertThat(poller.isRunning()).isFalse();
        long published = Outbox.count(db.jdbi(), "PUBLISHED");
        long leased = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT count(*) FROM outbox WHERE locked_until IS NOT NULL").mapTo(Long.class).one());
        assertThat(published).as("the claimed batch was delivered and recorded before close returned")
                .isEqualTo(poller.stats().claimed());
        assertThat(leased).isZero();
        assertThat(published).isLessThanOrEqualTo(ids.size());
    }

    @Test
    void a_close_called_while_another_is_under_way_returns_only_once_the_batch_in_flight_is_recorded() throws Exception {
        // Two stops at once (an application context's and a JVM shutdown hook's, say): the caller of either may close
        // the pool next, so neither may return before the worker has recorded its batch.
        Outbox.write(db.jdbi(), 1, 1);
        CountDownLatch inFlight = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        OutboxPoller poller = fastPoller(message -> {
            inFlight.countDown();
            release.await(30, TimeUnit.SECONDS);
        }).lease(Duration.ofSeconds(20)).build();
        poller.start();
        assertThat(inFlight.await(10, TimeUnit.SECONDS)).isTrue();
        long published = SecondClose.sees(poller::close, () -> !poller.isRunning(), release::countDown,
                () -> Outbox.count(db.jdbi(), "PUBLISHED"));
        assertThat(published).as("messages published when the second close() returned").isEqualTo(1);
    }

    static OutboxPoller.Builder fastPoller(MessagePublisher publisher) {
        return OutboxPoller.builder(db.jdbi(), publisher)
                .pollInterval(Duration.ofMillis(100))
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50));
    }
}
