package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.spi.OutboxListener;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.SecondClose;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link OutboxPoller#close()} called on the poller's own worker thread, from a publisher (one that
 * finds its broker gone for good, say) or a listener: it does not wait for the calling worker (that
 * would wait out the lease, then interrupt the worker's own record), and the worker records its
 * batch once the callback returns, then ends.
 */
class CloseFromCallbackTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables, 6);

    private static final Duration LEASE = Duration.ofSeconds(10);

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @Test
    void close_called_from_the_publisher_returns_promptly_and_the_worker_records_its_batch_then_ends() throws Exception {
        Outbox.write(db.jdbi(), 1, 1);
        AtomicReference<OutboxPoller> self = new AtomicReference<>();
        AtomicReference<Thread> worker = new AtomicReference<>();
        CompletableFuture<Long> closeMillis = new CompletableFuture<>();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), message -> {
            worker.set(Thread.currentThread());
            long start = System.nanoTime();
            self.get().close();
            closeMillis.complete(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        }).lease(LEASE).build();
        self.set(poller);
        poller.start();
        long took = closeMillis.get(60, TimeUnit.SECONDS);
        assertThat(took).as("ms close() took on the worker's own thread (lease %s)", LEASE).isLessThan(3_000);
        assertThat(poller.isRunning()).isFalse();
        await().atMost(Duration.ofSeconds(5)).until(() -> Outbox.count(db.jdbi(), "PUBLISHED") == 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> !worker.get().isAlive());
        assertThat(Outbox.count(db.jdbi(), "PENDING")).as("nothing left to deliver again").isZero();
    }

    @Test
    void close_called_from_a_listener_returns_promptly_and_the_worker_ends() throws Exception {
        Outbox.write(db.jdbi(), 1, 1);
        AtomicReference<OutboxPoller> self = new AtomicReference<>();
        AtomicReference<Thread> worker = new AtomicReference<>();
        CompletableFuture<Long> closeMillis = new CompletableFuture<>();
        OutboxListener stopAfterFirstDelivery = new OutboxListener() {
            @Override
            public void deliveredBatch(List<OutboxMessage> messages, Instant confirmed) {
                worker.set(Thread.currentThread());
                long start = System.nanoTime();
                self.get().close();
                closeMillis.complete(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
            }
        };
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), message -> { }).lease(LEASE)
                .addListener(stopAfterFirstDelivery).build();
        self.set(poller);
        poller.start();
        long took = closeMillis.get(60, TimeUnit.SECONDS);
        assertThat(took).as("ms close() took on the worker's own thread (lease %s)", LEASE).isLessThan(3_000);
        await().atMost(Duration.ofSeconds(5)).until(() -> !worker.get().isAlive());
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isEqualTo(1);
    }

    @Test
    void a_close_called_while_a_workers_own_close_is_under_way_returns_only_once_that_workers_batch_is_recorded()
            throws Exception {
        // The worker's close (from its publisher, to stop the application) does not wait for the worker; a JVM shutdown
        // hook's close meanwhile must, since its caller may close the pool next and the worker's record needs it.
        Outbox.write(db.jdbi(), 1, 1);
        AtomicReference<OutboxPoller> self = new AtomicReference<>();
        CountDownLatch closedByWorker = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), message -> {
            self.get().close();
            closedByWorker.countDown();
            release.await(30, TimeUnit.SECONDS);
        }).lease(LEASE).build();
        self.set(poller);
        poller.start();
        assertThat(closedByWorker.await(60, TimeUnit.SECONDS)).isTrue();
        long published = SecondClose.sees(poller::close, release::countDown, () -> Outbox.count(db.jdbi(), "PUBLISHED"));
        assertThat(published).as("messages published when the shutdown hook's close() returned").isEqualTo(1);
    }
}
