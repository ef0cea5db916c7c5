package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.ThreadPerTask;
import java.time.Duration;
import java.time.Instant;
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
import org.junit.jupiter.params.provider.ValueSource;

/**
 * While a batch is being delivered: a poller records its outcome only for the messages still under
 * its claim (an operator's requeue, or another poller's claim after the lease ran out, is what
 * counts), and an operator's requeue never stalls another poller for long. Each race is made
 * certain: the publisher delivers, then holds its answer until the test lets it return.
 */
class WhileDeliveringTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables, 8);

    private final OutboxAdmin admin = OutboxAdmin.create(db.jdbi());

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @ParameterizedTest(name = "deleteOnPublish={0}")
    @ValueSource(booleans = {false, true})
    void a_requeue_during_a_leased_delivery_is_not_undone_by_the_delivery_recorded_after_it(boolean deleteOnPublish)
            throws Throwable {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        HeldCycle relay = HeldCycle.start(p -> leasing(p).deleteOnPublish(deleteOnPublish).name("relay-a"));
        assertThat(relay.publisher.delivered(id)).isTrue();

        assertThat(admin.requeue(id)).isTrue();
        relay.releaseAndJoin();

        assertThat(admin.find(id)).as("the requeued message is still in the outbox").isPresent();
        assertThat(admin.find(id).orElseThrow().status()).isEqualTo(MessageStatus.PENDING);
        assertThat(relay.poller.stats().delivered()).as("nothing recorded, nothing counted").isZero();
        RecordingPublisher afterRequeue = new RecordingPublisher();
        leasing(afterRequeue).deleteOnPublish(deleteOnPublish).name("relay-b").build().pollOnce();
        assertThat(afterRequeue.delivered(id)).as("a delivery follows the requeue").isTrue();
    }

    @Test
    void a_requeue_since_during_a_leased_delivery_replays_every_message_it_counted() throws Throwable {
        List<UUID> ids = Outbox.write(db.jdbi(), 1, 2);
        assertThat(leasing(new RecordingPublisher()).build().pollOnce()).isEqualTo(1);
        HeldCycle relay = HeldCycle.start(p -> leasing(p).name("relay-a"));
        assertThat(relay.publisher.delivered(ids.get(1))).isTrue();

        int requeued = admin.requeueSince(Instant.now().minusSeconds(3600));
        relay.releaseAndJoin();

        assertThat(requeued).isEqualTo(2);
        RecordingPublisher replay = new RecordingPublisher();
        OutboxPoller poller = leasing(replay).name("relay-b").build();
        while (poller.pollOnce() > 0) {
            // the replay, in order
        }
        assertThat(replay.sequencesOf("agg-0")).as("both, in write order").hasSize(2).isSorted();
    }

    @Test
    void a_failure_recorded_after_a_requeue_leaves_the_requeued_message_as_the_operator_left_it() throws Throwable {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        HeldCycle relay = HeldCycle.failing(p -> leasing(p).maxAttempts(1).name("relay-a"));

        assertThat(admin.requeue(id)).isTrue();
        relay.releaseAndJoin();

        OutboxEntry entry = admin.find(id).orElseThrow();
        assertThat(entry.status()).as("not DEAD: its last attempt was the one before the requeue").isEqualTo(MessageStatus.PENDING);
        assertThat(entry.lastError()).isNull();
    }

    @Test
    void under_a_lock_the_requeue_waits_for_the_delivery_to_be_recorded_and_then_wins() throws Throwable {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        HeldCycle relay = HeldCycle.start(p -> leasing(p).claimMode(ClaimMode.LOCK).name("relay-a"));
        CompletableFuture<Boolean> requeue = CompletableFuture.supplyAsync(() -> admin.requeue(id), ThreadPerTask.INSTANCE);
        await().atMost(Duration.ofSeconds(10)).until(() -> waitingOnALock("attempts = 0"));
        assertThat(requeue).isNotDone();

        relay.releaseAndJoin();

        assertThat(requeue.get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(admin.find(id).orElseThrow().status()).isEqualTo(MessageStatus.PENDING);
    }

    @Test
    void a_delivery_whose_lease_ran_out_and_was_claimed_again_counts_once_over_both_pollers() throws Throwable {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        RecordingListener slowListener = new RecordingListener();
        HeldCycle slow = HeldCycle.start(p -> leasing(p).name("relay-a").lease(Duration.ofMillis(500))
                .addListener(slowListener));
        RecordingListener quickListener = new RecordingListener();
        OutboxPoller quick = leasing(new RecordingPublisher()).name("relay-b").addListener(quickListener).build();
        await().atMost(Duration.ofSeconds(10)).until(() -> quick.pollOnce() == 1); // once relay-a's lease ran out

        slow.releaseAndJoin();

        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isEqualTo(1);
        assertThat(slow.poller.stats().delivered() + quick.stats().delivered()).isEqualTo(1);
        assertThat(slowListener.deliveries.size() + quickListener.deliveries.size()).isEqualTo(1);
        assertThat(admin.find(id).orElseThrow().status()).isEqualTo(MessageStatus.PUBLISHED);
    }

    @ParameterizedTest(name = "the later claim's poller: {0}")
    @ValueSource(strings = {"relay-a", "relay-b"})
    void a_delivery_slower_than_its_lease_is_recorded_though_another_claim_took_the_message_meanwhile(String later)
            throws Throwable {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        Duration lease = Duration.ofMillis(500);
        HeldCycle slow = HeldCycle.start(p -> leasing(p).name("relay-a").lease(lease));
        await().atMost(Duration.ofSeconds(10)).until(() -> db.jdbi().withHandle(h -> h.createQuery(
                "SELECT locked_until < clock_timestamp() FROM outbox WHERE id = :id").bind("id", id)
                .mapTo(Boolean.class).one()));
        HeldCycle again = HeldCycle.start(p -> leasing(p).name(later).lease(lease)); // a worker of the same poller, or another's

        slow.releaseAndJoin();

        assertThat(admin.find(id).orElseThrow().status()).as("recorded: the message was delivered")
                .isEqualTo(MessageStatus.PUBLISHED);
        again.releaseAndJoin();
        assertThat(slow.poller.stats().delivered() + again.poller.stats().delivered()).isEqualTo(1);
    }

    /**
     * The failing counterpart of the test above: a failure slower than its lease must not be
     * recorded over the claim that took the message again, whether that claim is another
     * poller's or another worker's of the same poller (the workers of a poller share its name,
     * the lease owner; "each worker is like a poller of its own"). Recorded over it, the late
     * failure turns a message the later claim delivered into DEAD (here, its last attempt), and
     * that delivery is then not recorded: the message holds back the rest of its aggregate until
     * an operator requeues it, and is delivered again.
     */
    @ParameterizedTest(name = "the later claim's poller: {0}")
    @ValueSource(strings = {"relay-a", "relay-b"})
    void a_failure_slower_than_its_lease_is_not_recorded_over_the_claim_that_took_the_message_again(String later)
            throws Throwable {
        List<UUID> ids = Outbox.write(db.jdbi(), 1, 2);
        UUID id = ids.get(0);
        HeldCycle slow = HeldCycle.failing(p -> leasing(p).name("relay-a").lease(Duration.ofMillis(500)).maxAttempts(2));
        await().atMost(Duration.ofSeconds(10)).until(() -> db.jdbi().withHandle(h -> h.createQuery(
                "SELECT locked_until < clock_timestamp() FROM outbox WHERE id = :id").bind("id", id)
                .mapTo(Boolean.class).one()));
        HeldCycle again = HeldCycle.start(p -> leasing(p).name(later).lease(Duration.ofSeconds(30)).maxAttempts(2));
        assertThat(again.publisher.delivered(id)).as("the later claim delivered it").isTrue();

        slow.releaseAndJoin(); // the late failure, of a lease that ran out
        again.releaseAndJoin(); // the delivery, under a lease in force

        OutboxEntry entry = admin.find(id).orElseThrow();
        assertThat(entry.status()).as("delivered by the claim in force (last error: %s)", entry.lastError())
                .isEqualTo(MessageStatus.PUBLISHED);
        RecordingPublisher next = new RecordingPublisher();
        leasing(next).name("relay-c").build().pollOnce();
        assertThat(next.delivered(ids.get(1))).as("the aggregate's next message is not held back").isTrue();
    }

    /** A requeue resets the attempts, so the later claim counts the same attempt as the one before it. */
    @Test
    void a_failure_of_a_claim_an_operator_requeued_is_not_recorded_over_the_claim_after_the_requeue()
            throws Throwable {
        List<UUID> ids = Outbox.write(db.jdbi(), 1, 2);
        UUID id = ids.get(0);
        HeldCycle slow = HeldCycle.failing(p -> leasing(p).name("relay-a").maxAttempts(1));
        assertThat(admin.requeue(id)).isTrue(); // the requeue wins: attempts 0, claim cleared
        HeldCycle again = HeldCycle.start(p -> leasing(p).name("relay-a").maxAttempts(1)); // another worker of relay-a
        assertThat(again.publisher.delivered(id)).isTrue();

        slow.releaseAndJoin(); // the failure of the claim before the requeue
        again.releaseAndJoin(); // the delivery of the claim after it

        OutboxEntry entry = admin.find(id).orElseThrow();
        assertThat(entry.status()).as("delivered by the claim after the requeue (last error: %s)", entry.lastError())
                .isEqualTo(MessageStatus.PUBLISHED);
    }

    @Test
    void a_claim_that_waited_behind_a_lock_longer_than_its_lease_still_holds_the_whole_lease() throws Throwable {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        Duration lease = Duration.ofSeconds(1);
        HeldCycle relay;
        try (var locker = db.dataSource().getConnection(); var statement = locker.createStatement()) {
            locker.setAutoCommit(false);
            statement.execute("LOCK TABLE outbox IN SHARE MODE"); // as a migration's ALTER TABLE would, for a while
            long lockedAt = System.nanoTime();
            CompletableFuture<HeldCycle> claiming = CompletableFuture.supplyAsync(() -> {
                try {
                    return HeldCycle.start(p -> leasing(p).lease(lease).name("relay-a"));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, ThreadPerTask.INSTANCE);
            await().atMost(Duration.ofSeconds(10)).until(() -> waitingOnALock("locked_by"));
            await().atMost(Duration.ofSeconds(10)).until(() -> System.nanoTime() - lockedAt > lease.toNanos() * 2);
            locker.rollback();
            relay = claiming.get(10, TimeUnit.SECONDS);
        }

        double leftSeconds = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT extract(epoch FROM locked_until - clock_timestamp()) FROM outbox WHERE id = :id")
                .bind("id", id).mapTo(Double.class).one());
        assertThat(leftSeconds).as("the lease left while it is being delivered").isPositive();
        relay.releaseAndJoin();
        assertThat(admin.find(id).orElseThrow().status()).isEqualTo(MessageStatus.PUBLISHED);
    }

    @Test
    void a_requeue_that_meets_a_locked_delivery_gives_up_whole_after_its_wait_so_other_pollers_record_theirs()
            throws Throwable {
        UUID leased = Outbox.write(db.jdbi(), 1, 1).get(0);
        HeldCycle leaseRelay = HeldCycle.start(p -> leasing(p).name("lease-relay"));
        UUID locked = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("agg-1", 0)));
        HeldCycle lockRelay = HeldCycle.start(p -> leasing(p).claimMode(ClaimMode.LOCK).name("lock-relay"));
        assertThat(lockRelay.publisher.delivered(locked)).isTrue();

        CompletableFuture<Integer> requeue = CompletableFuture.supplyAsync(
                () -> admin.requeueSince(Instant.now().minusSeconds(3600)), ThreadPerTask.INSTANCE);
        await().atMost(Duration.ofSeconds(10)).until(() -> waitingOnALock("attempts = 0"));
        leaseRelay.releaseAndJoin(); // its outcome waits for the requeue, which holds the row it rewrote

        assertThatThrownBy(() -> requeue.get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(OutboxException.class)
                .hasMessageContaining("another transaction held one of them longer than 5 s (a poller in claim mode "
                        + "LOCK delivering it, or a long statement on the outbox); nothing was requeued, try again");
        assertThat(admin.find(leased).orElseThrow().status()).as("recorded once the requeue gave up")
                .isEqualTo(MessageStatus.PUBLISHED);
        lockRelay.releaseAndJoin();
        assertThat(admin.find(locked).orElseThrow().status()).isEqualTo(MessageStatus.PUBLISHED);
    }

    private static boolean waitingOnALock(String queryFragment) {
        return db.jdbi().withHandle(h -> h.createQuery("""
                        SELECT count(*) FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE :q""")
                .bind("q", "%" + queryFragment + "%").mapTo(Long.class).one()) > 0;
    }

    private static OutboxPoller.Builder leasing(MessagePublisher publisher) {
        return OutboxPoller.builder(db.jdbi(), publisher).claimMode(ClaimMode.LEASE)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50)).jitter(0);
    }

    /**
     * One cycle of a poller on a thread of its own, whose publisher has handled its batch (delivered
     * it to {@link #publisher}, or failed it) and then holds its answer until {@link #releaseAndJoin()}.
     */
    private static final class HeldCycle {
        final RecordingPublisher publisher = new RecordingPublisher();
        private final CountDownLatch handled = new CountDownLatch(1);
        private final CountDownLatch release = new CountDownLatch(1);
        private OutboxPoller poller;
        private CompletableFuture<Integer> cycle;

        static HeldCycle start(Function<MessagePublisher, OutboxPoller.Builder> poller) throws InterruptedException {
            return run(poller, false);
        }

        static HeldCycle failing(Function<MessagePublisher, OutboxPoller.Builder> poller) throws InterruptedException {
            return run(poller, true);
        }

        private static HeldCycle run(Function<MessagePublisher, OutboxPoller.Builder> poller, boolean fail)
                throws InterruptedException {
            HeldCycle held = new HeldCycle();
            held.poller = poller.apply(new MessagePublisher() {
                @Override
                public void publish(OutboxMessage message) {
                    if (fail) {
                        throw new IllegalStateException("refused");
                    }
                    held.publisher.publish(message);
                }

                @Override
                public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
                    Map<UUID, Exception> failures = MessagePublisher.super.publishAll(batch);
                    held.handled.countDown();
                    held.release.await();
                    return failures;
                }
            }).build();
            held.cycle = CompletableFuture.supplyAsync(held.poller::pollOnce, ThreadPerTask.INSTANCE);
            assertThat(held.handled.await(10, TimeUnit.SECONDS)).as("the held poller claimed its batch").isTrue();
            return held;
        }

        int releaseAndJoin() throws Throwable {
            release.countDown();
            try {
                return cycle.get(40, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw e.getCause();
            }
        }
    }
}
