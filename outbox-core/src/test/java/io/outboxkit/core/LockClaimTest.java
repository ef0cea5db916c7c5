package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@link ClaimMode#LOCK}: messages held by row locks through delivery, and {@code deleteOnPublish}. */
class LockClaimTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension();

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @Test
    void a_locked_delivery_is_recorded_like_a_leased_one() {
        List<UUID> ids = Outbox.write(db.jdbi(), 5, 1);
        RecordingPublisher publisher = new RecordingPublisher();
        OutboxPoller poller = locking(publisher).build();

        assertThat(poller.pollOnce()).isEqualTo(ids.size());

        assertThat(ids).allMatch(publisher::delivered);
        assertThat(select(Long.class, """
                SELECT count(*) FROM outbox WHERE status = 'PUBLISHED' AND attempts = 1 AND published_at IS NOT NULL
                  AND locked_by IS NULL AND locked_until IS NULL""")).containsExactly((long) ids.size());
    }

    @Test
    void the_publisher_sees_the_attempt_now_starting() {
        Outbox.write(db.jdbi(), 1, 1);
        RecordingPublisher publisher = new RecordingPublisher().failWhen(m -> true);
        List<Integer> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        OutboxPoller poller = locking(message -> {
            seen.add(message.attempts());
            publisher.publish(message);
        }).build();

        poller.pollOnce();
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET available_at = now()"));
        poller.pollOnce();

        assertThat(seen).containsExactly(1, 2);
        assertThat(select(Integer.class, "SELECT attempts FROM outbox")).containsExactly(2);
    }

    @Test
    void messages_being_delivered_under_a_lock_are_skipped_by_other_pollers_but_the_rest_is_not() throws Exception {
        List<UUID> ids = Outbox.write(db.jdbi(), 10, 1);
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        RecordingPublisher slowInner = new RecordingPublisher();
        OutboxPoller slow = locking(new MessagePublisher() {
            @Override
            public void publish(OutboxMessage message) {
                slowInner.publish(message);
            }

            @Override
            public java.util.Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
                holding.countDown();
                release.await();
                return MessagePublisher.super.publishAll(batch);
            }
        }).batchSize(4).name("slow").build();
        CompletableFuture<Integer> slowCycle = CompletableFuture.supplyAsync(slow::pollOnce);
        assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();

        RecordingPublisher other = new RecordingPublisher();
        assertThat(locking(other).name("other").build().pollOnce()).isEqualTo(6);
        release.countDown();
        assertThat(slowCycle.get(10, TimeUnit.SECONDS)).isEqualTo(4);

        assertThat(other.deliveredCount() + slowInner.deliveredCount()).isEqualTo(ids.size());
        assertThat(ids).allMatch(id -> other.delivered(id) != slowInner.delivered(id));
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isEqualTo(ids.size());
    }

    @Test
    void a_poller_whose_connection_dies_mid_delivery_releases_its_messages_at_once() throws Exception {
        List<UUID> ids = Outbox.write(db.jdbi(), 3, 1);
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Duration lease = Duration.ofMinutes(5);
        OutboxPoller dying = locking(message -> {
            holding.countDown();
            release.await();
        }).lease(lease).name("dying").build();
        CompletableFuture<Integer> dyingCycle = CompletableFuture.supplyAsync(dying::pollOnce);
        assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();

        // The process died: its database session ends, as the server sees a closed connection.
        db.jdbi().useHandle(h -> h.createQuery("""
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE state = 'idle in transaction' AND query LIKE '%FOR UPDATE SKIP LOCKED%'
                  AND datname = current_database()""").mapTo(Boolean.class).list());

        RecordingPublisher rescuer = new RecordingPublisher();
        OutboxPoller healthy = locking(rescuer).lease(lease).name("healthy").build();
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            healthy.pollOnce();
            return Outbox.count(db.jdbi(), "PUBLISHED") == ids.size();
        });
        assertThat(ids).allMatch(rescuer::delivered);
        release.countDown();
        assertThatThrownBy(() -> {
            try {
                dyingCycle.get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause();
            }
        }).isInstanceOf(OutboxException.class).hasMessageContaining("claimable again");
    }

    @Test
    void a_hung_poller_holds_its_locks_no_longer_than_the_lease() throws Exception {
        List<UUID> ids = Outbox.write(db.jdbi(), 4, 1);
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Duration lease = Duration.ofSeconds(2);
        OutboxPoller hung = locking(message -> {
            holding.countDown();
            release.await(); // stopped answering while holding its locks
        }).lease(lease).name("hung").build();
        CompletableFuture<Integer> hungCycle = CompletableFuture.supplyAsync(hung::pollOnce);
        assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
        long lockedAt = System.nanoTime();

        RecordingPublisher rescuer = new RecordingPublisher();
        OutboxPoller healthy = locking(rescuer).lease(lease).name("healthy").build();
        assertThat(healthy.pollOnce()).as("locked messages are not claimable").isZero();
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            healthy.pollOnce();
            return Outbox.count(db.jdbi(), "PUBLISHED") == ids.size();
        });

        assertThat(Duration.ofNanos(System.nanoTime() - lockedAt)).isGreaterThanOrEqualTo(lease.minusMillis(100));
        assertThat(ids).allMatch(rescuer::delivered);
        release.countDown();
        assertThatThrownBy(() -> {
            try {
                hungCycle.get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause();
            }
        }).as("the hung poller's late outcome is not recorded").isInstanceOf(OutboxException.class);
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isEqualTo(ids.size());
    }

    @ParameterizedTest
    @EnumSource(ClaimMode.class)
    void delete_on_publish_deletes_delivered_messages_and_keeps_failed_ones(ClaimMode mode) {
        List<UUID> ids = Outbox.write(db.jdbi(), 6, 1);
        UUID failing = ids.get(2);
        RecordingPublisher publisher = new RecordingPublisher().failWhen(m -> m.id().equals(failing));
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).claimMode(mode).deleteOnPublish(true)
                .backoff(Duration.ofMinutes(1), Duration.ofMinutes(1)).build();

        assertThat(poller.pollOnce()).isEqualTo(ids.size());

        assertThat(Outbox.total(db.jdbi())).isEqualTo(1);
        assertThat(select(UUID.class, "SELECT id FROM outbox WHERE status = 'PENDING' AND attempts = 1"))
                .containsExactly(failing);
        assertThat(poller.stats().delivered()).isEqualTo(ids.size() - 1);
    }

    private static <T> List<T> select(Class<T> type, String sql) {
        return db.jdbi().withHandle(h -> h.createQuery(sql).mapTo(type).list());
    }

    private static OutboxPoller.Builder locking(MessagePublisher publisher) {
        return OutboxPoller.builder(db.jdbi(), publisher).claimMode(ClaimMode.LOCK)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50));
    }
}
