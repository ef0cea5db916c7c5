package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.ThreadPerTask;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@link ClaimMode#LOCK}: messages held by row locks through delivery, and {@code deleteOnPublish}. */
class LockClaimTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

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
        HeldCycle slow = HeldCycle.start(publisher -> locking(publisher).batchSize(4).name("slow"));

        RecordingPublisher other = new RecordingPublisher();
        assertThat(locking(other).name("other").build().pollOnce()).isEqualTo(6);
        assertThat(slow.release().get(10, TimeUnit.SECONDS)).isEqualTo(4);

        assertThat(other.deliveredCount() + slow.publisher.deliveredCount()).isEqualTo(ids.size());
        assertThat(ids).allMatch(id -> other.delivered(id) != slow.publisher.delivered(id));
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isEqualTo(ids.size());
    }

    @Test
    void a_poller_whose_connection_dies_mid_delivery_releases_its_messages_at_once() throws Exception {
        List<UUID> ids = Outbox.write(db.jdbi(), 3, 1);
        Duration lease = Duration.ofMinutes(5);
        HeldCycle dying = HeldCycle.start(publisher -> locking(publisher).lease(lease).name("dying"));

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
        assertThatThrownBy(() -> dying.releaseAndJoin()).isInstanceOf(OutboxException.class)
                .hasMessageContaining("claimable again");
    }

    @Test
    void a_hung_poller_holds_its_locks_no_longer_than_the_lease() throws Exception {
        List<UUID> ids = Outbox.write(db.jdbi(), 4, 1);
        Duration lease = Duration.ofSeconds(2);
        // stops answering while holding its locks
        HeldCycle hung = HeldCycle.start(publisher -> locking(publisher).lease(lease).name("hung"));
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
        assertThatThrownBy(() -> hung.releaseAndJoin()).as("the hung poller's late outcome is not recorded")
                .isInstanceOf(OutboxException.class);
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

    /**
     * One cycle of a poller, on a thread of its own, stopped inside its publisher with its batch
     * claimed, until {@link #release()}d; the publisher then records every message as delivered.
     */
    private static final class HeldCycle {
        final RecordingPublisher publisher = new RecordingPublisher();
        private final CountDownLatch holding = new CountDownLatch(1);
        private final CountDownLatch release = new CountDownLatch(1);
        private CompletableFuture<Integer> cycle;

        /** Builds the poller {@code poller} makes around the held publisher and waits until its cycle is delivering. */
        static HeldCycle start(Function<MessagePublisher, OutboxPoller.Builder> poller) throws InterruptedException {
            HeldCycle held = new HeldCycle();
            OutboxPoller built = poller.apply(new MessagePublisher() {
                @Override
                public void publish(OutboxMessage message) {
                    held.publisher.publish(message);
                }

                @Override
                public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
                    held.holding.countDown();
                    held.release.await();
                    return MessagePublisher.super.publishAll(batch);
                }
            }).build();
            held.cycle = CompletableFuture.supplyAsync(built::pollOnce, ThreadPerTask.INSTANCE);
            assertThat(held.holding.await(10, TimeUnit.SECONDS)).as("the held poller claimed and is delivering").isTrue();
            return held;
        }

        /** Lets the publisher return; the cycle's result follows. */
        CompletableFuture<Integer> release() {
            release.countDown();
            return cycle;
        }

        /** Lets the publisher return and waits for the cycle's end; rethrows what ended it, if it failed. */
        int releaseAndJoin() throws Throwable {
            try {
                return release().get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw e.getCause();
            }
        }
    }

    private static OutboxPoller.Builder locking(MessagePublisher publisher) {
        return OutboxPoller.builder(db.jdbi(), publisher).claimMode(ClaimMode.LOCK)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50));
    }
}
