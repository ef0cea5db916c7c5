package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.core.spi.NotSentException;
import io.outboxkit.testing.CapturedStderr;
import io.outboxkit.testing.PostgresExtension;
import java.io.UncheckedIOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class RetryAndDeadTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_failed_delivery_records_the_attempt_and_the_error_and_waits_for_its_backoff(ClaimMode mode) {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        RecordingPublisher failing = new RecordingPublisher().failWhen(m -> true);
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), failing).claimMode(mode)
                .backoff(Duration.ofSeconds(30), Duration.ofMinutes(5)).jitter(0).build();

        assertThat(poller.pollOnce()).isEqualTo(1);

        // Read after the outcome is recorded: attempts and locked_by then agree in both modes (LOCK
        // writes attempts only with the outcome and never sets locked_by).
        Map<String, Object> row = row(id);
        assertThat(row).containsEntry("status", "PENDING").containsEntry("attempts", 1)
                .containsEntry("locked_by", null);
        assertThat((String) row.get("last_error")).isEqualTo("IllegalStateException: broker refused Event0");
        assertThat(((Number) row.get("delay_seconds")).doubleValue()).isBetween(28.0, 31.0);
        assertThat(poller.pollOnce()).as("not claimable again before its backoff").isZero();
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void the_backoff_doubles_with_each_attempt(ClaimMode mode) {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), new RecordingPublisher().failWhen(m -> true))
                .claimMode(mode)
                .backoff(Duration.ofSeconds(10), Duration.ofSeconds(35)).jitter(0).maxAttempts(10).build();
        double[] expected = {10, 20, 35, 35};
        for (double seconds : expected) {
            makeDue(id);
            assertThat(poller.pollOnce()).isEqualTo(1);
            assertThat(((Number) row(id).get("delay_seconds")).doubleValue()).isBetween(seconds - 2, seconds + 1);
        }
        // attempts is read after the last outcome is recorded, when LOCK mode has written it too
        assertThat(row(id)).containsEntry("attempts", 4);
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_message_is_dead_after_max_attempts_and_is_no_longer_claimed(ClaimMode mode) {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        RecordingPublisher failing = new RecordingPublisher().failWhen(m -> true);
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), failing).claimMode(mode)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).maxAttempts(3).pollInterval(Duration.ofMillis(50)).build();
        poller.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> "DEAD".equals(row(id).get("status")));
        poller.close();

        // attempts is read after the outcome (DEAD) is recorded, when LOCK mode has written it too
        assertThat(row(id)).containsEntry("attempts", 3);
        assertThat((String) row(id).get("last_error")).contains("broker refused");
        assertThat(failing.attempts()).isEqualTo(3);
        assertThat(poller.stats().dead()).isEqualTo(1);
        assertThat(poller.pollOnce()).isZero();
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_failing_message_does_not_hold_up_other_aggregates(ClaimMode mode) {
        List<UUID> ids = Outbox.write(db.jdbi(), 5, 2);
        RecordingPublisher publisher = new RecordingPublisher().failWhen(m -> m.aggregateId().equals("agg-0"));
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).claimMode(mode)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(20)).pollInterval(Duration.ofMillis(50)).build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> Outbox.count(db.jdbi(), "PUBLISHED") == ids.size() - 2);
        }
        assertThat(publisher.sequencesOf("agg-0")).isEmpty();
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void after_a_batch_that_failed_whole_the_poller_waits_instead_of_spending_an_attempt_of_the_whole_backlog(ClaimMode mode) {
        Outbox.write(db.jdbi(), 1_000, 1);
        RecordingPublisher down = new RecordingPublisher().failWhen(m -> true);
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), down).claimMode(mode).batchSize(100)
                .backoff(Duration.ofMinutes(1), Duration.ofMinutes(5)).pollInterval(Duration.ofSeconds(2)).build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> down.attempts() >= 100);

            // The first batch, at most the one its announcement looks at once more, and the one the
            // listener's first look asks for; then the poll interval (2 s): not the backlog's ten batches.
            await().during(Duration.ofMillis(1_500)).atMost(Duration.ofSeconds(3)).until(() -> down.attempts() <= 300);
            // Still trying, at the poll interval: a receiver that comes back is found.
            await().atMost(Duration.ofSeconds(10)).until(() -> down.attempts() >= 400);
        }
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isZero();
    }

    /**
     * README (outbox-relay): "After a batch whose every message failed (the consumer or broker is down, most likely)
     * the relay waits for the poll interval before it claims again, so an outage spends the attempts of a batch or
     * two per interval, not one attempt of every message of a backlog". The relay runs WORKERS=2 by default.
     */
    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void with_two_workers_a_batch_that_failed_whole_does_not_spend_an_attempt_of_the_whole_backlog(ClaimMode mode) {
        Outbox.write(db.jdbi(), 1_000, 1);
        RecordingPublisher down = new RecordingPublisher().unreachableWhen(m -> true);
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), down).claimMode(mode).batchSize(100).workers(2)
                .backoff(Duration.ofMinutes(1), Duration.ofMinutes(5)).pollInterval(Duration.ofSeconds(2)).build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> down.attempts() >= 100);

            // A batch or two per worker, then the poll interval (2 s): not the backlog's ten batches.
            try {
                await().during(Duration.ofMillis(1_500)).atMost(Duration.ofSeconds(3)).until(() -> down.attempts() <= 600);
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                throw new AssertionError("within the first poll interval the poller made " + down.attempts()
                        + " delivery attempts of a backlog of 1,000 whose every batch failed (at most 600 expected)", e);
            }
        }
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isZero();
    }

    /**
     * Only a receiver that cannot be reached (or does not answer) holds every worker off: a full
     * batch its receiver refused (unroutable messages, a missing topic, a burst of 4xx) says
     * nothing of the rest of the backlog, so its worker waits as when idle and a commit's
     * notification wakes it.
     */
    @Test
    void a_full_batch_refused_by_a_receiver_that_is_up_does_not_hold_up_a_message_written_after_it_for_the_poll_interval() {
        RecordingPublisher publisher = new RecordingPublisher().failWhen(m -> m.aggregateId().startsWith("poison"));
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).workers(2).batchSize(2)
                .backoff(Duration.ofMinutes(1), Duration.ofMinutes(5)).pollInterval(Duration.ofSeconds(6)).build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> poller.waitAnnouncement().inForce());
            db.jdbi().useTransaction(h -> {
                OutboxWriter writer = OutboxWriter.create();
                writer.write(h, Outbox.message("poison-1", 0));
                writer.write(h, Outbox.message("poison-2", 0));
            });
            await().atMost(Duration.ofSeconds(10)).until(() -> publisher.attempts() >= 2);

            UUID good = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("good", 0)));

            // Well inside the poll interval (6 s): a notification, not the interval, brings it.
            await().atMost(Duration.ofSeconds(2)).until(() -> publisher.delivered(good));
        }
    }

    /**
     * A full batch that failed whole as "not reached" while another worker's batch was delivered
     * meanwhile was slow, not evidence of a down receiver: no worker is held off the poll interval.
     */
    @Test
    void a_slow_full_batch_that_failed_whole_while_another_was_delivered_holds_no_worker_off() {
        CountDownLatch fastDelivered = new CountDownLatch(2);
        Set<UUID> delivered = ConcurrentHashMap.newKeySet();
        MessagePublisher publisher = message -> {
            if (message.aggregateId().startsWith("slow")) {
                // Outlasts the other worker's batch, then fails as an answer that never came would.
                if (!fastDelivered.await(10, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the other worker's batch was not delivered");
                }
                throw new UncheckedIOException(new SocketTimeoutException("no answer in time"));
            }
            delivered.add(message.id());
            fastDelivered.countDown();
        };
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).workers(2).batchSize(2)
                .backoff(Duration.ofMinutes(1), Duration.ofMinutes(5)).pollInterval(Duration.ofSeconds(6)).build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> poller.waitAnnouncement().inForce());
            List<UUID> slow = writeSlowThenFast();
            OutboxAdmin admin = OutboxAdmin.create(db.jdbi());
            await().atMost(Duration.ofSeconds(15)).alias("the slow batch's failure recorded")
                    .until(() -> slow.stream().allMatch(id -> admin.find(id).orElseThrow().lastError() != null));
            assertThat(delivered).as("the other worker's batch").hasSize(2);

            UUID good = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("good", 0)));

            // Well inside the poll interval (6 s): a notification, not the interval, brings it.
            await().atMost(Duration.ofSeconds(2)).until(() -> delivered.contains(good));
        }
    }

    /**
     * A batch the receiver took is evidence that it is up even when the database then fails to
     * record the outcome: a full batch that failed whole as "not reached" meanwhile was slow, and
     * no worker is held off the poll interval.
     */
    @Test
    void a_delivery_whose_record_failed_still_counts_as_the_receiver_up_for_a_slow_batch_failing_whole()
            throws Exception {
        RecordingListener listener = new RecordingListener();
        Set<UUID> delivered = ConcurrentHashMap.newKeySet();
        List<HeldLock> heldRows = new CopyOnWriteArrayList<>();
        MessagePublisher publisher = message -> {
            if (message.aggregateId().startsWith("slow")) {
                // Outlasts the other worker's batch and its failed record, then fails as an answer
                // that never came would.
                await().atMost(Duration.ofSeconds(10)).until(() -> !listener.pollFailures.isEmpty());
                throw new UncheckedIOException(new SocketTimeoutException("no answer in time"));
            }
            if (message.aggregateId().equals("fast-1")) {
                // Another session holds the row: the record of this batch waits and is cancelled
                // by the statement timeout, after the receiver took the batch.
                heldRows.add(HeldLock.of(db.jdbi(), "SELECT id FROM outbox WHERE id = ? FOR UPDATE", message.id())
                        .take());
            }
            delivered.add(message.id());
        };
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).workers(2).batchSize(2)
                .statementTimeout(Duration.ofMillis(500)).addListener(listener)
                .backoff(Duration.ofMinutes(1), Duration.ofMinutes(5)).pollInterval(Duration.ofSeconds(6)).build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> poller.waitAnnouncement().inForce());
            List<UUID> slow = writeSlowThenFast();
            await().atMost(Duration.ofSeconds(15)).alias("the slow batch's failure recorded")
                    .until(() -> listener.failures.stream().filter(f -> slow.contains(f.id())).count() == 2);
            assertThat(listener.failures).as("failed as not answering, which may hold every worker off")
                    .allMatch(f -> f.reason() == FailureReason.TIMEOUT);
            assertThat(delivered).as("the other worker's batch, taken by the receiver").hasSize(2);
            assertThat(listener.pollFailures).as("its record cancelled by the statement timeout").hasSize(1);

            UUID good = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("good", 0)));

            // Well inside the poll interval (6 s): a notification, not the interval, brings it.
            await().atMost(Duration.ofSeconds(2)).until(() -> delivered.contains(good));
        } finally {
            for (HeldLock row : heldRows) {
                row.close();
            }
        }
    }

    /**
     * A publisher's failures name the batch's messages that failed; an id of no message of the
     * batch names none (the record ignores it). A full batch of which one message was delivered
     * did not fail whole, however many entries the map has: it holds no worker off.
     */
    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_failure_reported_for_an_id_not_in_the_batch_does_not_make_a_delivered_batch_one_that_failed_whole(
            ClaimMode mode) {
        UncheckedIOException unreachable = new UncheckedIOException(new java.net.ConnectException("Connection refused"));
        MessagePublisher publisher = reporting(batch -> {
            Map<UUID, Exception> failures = new HashMap<>();
            batch.stream().filter(m -> m.aggregateId().equals("flaky")).forEach(m -> {
                failures.put(m.id(), unreachable);
                failures.put(UUID.randomUUID(), unreachable); // no message of this batch
            });
            return failures;
        });
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).claimMode(mode).batchSize(2)
                .backoff(Duration.ofMinutes(1), Duration.ofMinutes(5)).pollInterval(Duration.ofSeconds(6)).build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> poller.waitAnnouncement().inForce());
            List<UUID> full = db.jdbi().inTransaction(h -> {
                OutboxWriter writer = OutboxWriter.create();
                return List.of(writer.write(h, Outbox.message("flaky", 0)), writer.write(h, Outbox.message("other", 0)));
            });
            await().atMost(Duration.ofSeconds(10)).until(() -> "PUBLISHED".equals(row(full.get(1)).get("status")));
            assertThat(row(full.get(0))).as("the one failure of the batch").containsEntry("attempts", 1);

            UUID good = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("good", 0)));

            // Well inside the poll interval (6 s): a notification, not the interval, brings it.
            await().atMost(Duration.ofSeconds(2)).until(() -> "PUBLISHED".equals(row(good).get("status")));
        }
    }

    /**
     * A batch smaller than the claim limit that failed whole is no evidence of a backlog against a
     * down receiver (at low traffic it is one poison message): its worker waits as when idle, a
     * commit's notification wakes it, and no other worker is held off.
     */
    @ParameterizedTest(name = "workers: {0}")
    @ValueSource(ints = {1, 2})
    void a_message_that_fails_alone_does_not_hold_up_a_message_written_after_it_for_the_poll_interval(int workers) {
        RecordingPublisher publisher = new RecordingPublisher().failWhen(m -> m.aggregateId().equals("poison"));
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).workers(workers)
                .backoff(Duration.ofMinutes(1), Duration.ofMinutes(5)).pollInterval(Duration.ofSeconds(6)).build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> poller.waitAnnouncement().inForce());
            db.jdbi().useTransaction(h -> OutboxWriter.create().write(h, Outbox.message("poison", 0)));
            await().atMost(Duration.ofSeconds(10)).until(() -> publisher.attempts() >= 1);

            UUID good = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("good", 0)));

            // Well inside the poll interval (6 s): a notification, not the interval, brings it.
            await().atMost(Duration.ofSeconds(2)).until(() -> publisher.delivered(good));
        }
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_failure_whose_text_postgresql_cannot_store_is_recorded_and_counts_toward_dead_like_any_other(ClaimMode mode) {
        List<UUID> ids = Outbox.write(db.jdbi(), 2, 1); // two aggregates, one message each
        UUID failing = ids.get(1);
        MessagePublisher binaryErrorBody = m -> {
            if (m.id().equals(failing)) {
                throw new IllegalStateException("broker said: \u0000\u0001");
            }
        };
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), binaryErrorBody).claimMode(mode).maxAttempts(1).build();

        assertThat(poller.pollOnce()).isEqualTo(2);

        assertThat(row(failing)).containsEntry("status", "DEAD").containsEntry("attempts", 1);
        assertThat((String) row(failing).get("last_error")).isEqualTo("IllegalStateException: broker said: \uFFFD\u0001");
        assertThat(row(ids.get(0))).as("the batch's other message").containsEntry("status", "PUBLISHED");
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_publisher_that_throws_an_error_fails_the_attempt_which_counts_toward_dead_like_any_other(ClaimMode mode) {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        MessagePublisher overflowing = m -> {
            throw new StackOverflowError();
        };
        RecordingListener listener = new RecordingListener();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), overflowing).claimMode(mode).maxAttempts(2)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).addListener(listener).build();

        assertThat(poller.pollOnce()).isOne();
        makeDue(id);
        assertThat(poller.pollOnce()).isOne();

        assertThat(row(id)).containsEntry("status", "DEAD").containsEntry("attempts", 2);
        assertThat((String) row(id).get("last_error")).contains("StackOverflowError");
        assertThat(listener.failures).hasSize(2);
        assertThat(listener.pollFailures).as("not a failure of the database").isEmpty();
        assertThat(poller.stats().errors()).isZero();
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_failure_reported_without_an_exception_fails_the_attempt_which_counts_toward_dead(ClaimMode mode) {
        List<UUID> ids = Outbox.write(db.jdbi(), 2, 1); // two aggregates, one message each
        UUID failing = ids.get(1);
        MessagePublisher noCause = reporting(batch -> {
            Map<UUID, Exception> failures = new HashMap<>();
            failures.put(failing, null); // "this one failed", no exception at hand
            return failures;
        });
        RecordingListener listener = new RecordingListener();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), noCause).claimMode(mode).maxAttempts(1)
                .addListener(listener).build();

        assertThat(poller.pollOnce()).isEqualTo(2);

        assertThat(row(failing)).containsEntry("status", "DEAD").containsEntry("attempts", 1);
        assertThat((String) row(failing).get("last_error"))
                .contains("publishAll listed message " + failing + " as failed without an exception");
        assertThat(row(ids.get(0))).as("the batch's other message").containsEntry("status", "PUBLISHED");
        assertThat(listener.pollFailures).as("not a failure of the database").isEmpty();
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_publisher_that_returns_null_instead_of_its_failures_fails_the_attempt_of_the_whole_batch(ClaimMode mode) {
        List<UUID> ids = Outbox.write(db.jdbi(), 2, 1);
        RecordingListener listener = new RecordingListener();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), reporting(batch -> null)).claimMode(mode).maxAttempts(1)
                .addListener(listener).build();

        assertThat(poller.pollOnce()).isEqualTo(2);

        assertThat(ids).allSatisfy(id -> {
            assertThat(row(id)).containsEntry("status", "DEAD").containsEntry("attempts", 1);
            assertThat((String) row(id).get("last_error")).contains(".publishAll returned null");
        });
        assertThat(listener.pollFailures).as("not a failure of the database").isEmpty();
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_batch_that_runs_out_of_heap_memory_is_followed_by_claims_of_half_as_many_until_they_fit(ClaimMode mode) {
        List<UUID> ids = Outbox.write(db.jdbi(), 4, 1);
        MessagePublisher tooLargeTogether = new MessagePublisher() {
            @Override
            public void publish(OutboxMessage message) {
            }

            @Override
            public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
                if (batch.size() > 1) {
                    throw new OutOfMemoryError("Java heap space");
                }
                return MessagePublisher.super.publishAll(batch);
            }
        };
        RecordingListener listener = new RecordingListener();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), tooLargeTogether).claimMode(mode).batchSize(4)
                .lease(Duration.ofMillis(200)).addListener(listener).build();

        await().atMost(Duration.ofSeconds(10)).until(() -> {
            poller.pollOnce();
            return ids.stream().allMatch(id -> "PUBLISHED".equals(row(id).get("status")));
        });
        assertThat(poller.stats().errors()).as("a batch of 4, then of 2, ran out").isEqualTo(2);
        assertThat(listener.pollFailures).hasSize(2);
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_message_too_large_for_the_heap_alone_fails_its_attempt_which_counts_toward_dead(ClaimMode mode) {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        MessagePublisher tooLarge = m -> {
            throw new OutOfMemoryError("Java heap space");
        };
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), tooLarge).claimMode(mode).maxAttempts(1).build();

        assertThat(poller.pollOnce()).isOne();

        assertThat(row(id)).containsEntry("status", "DEAD");
        assertThat((String) row(id).get("last_error")).contains("ran out of heap memory delivering this message alone");
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_publisher_lacking_a_class_of_its_client_spends_no_attempt_and_its_batch_is_claimable_again_at_once(ClaimMode mode) {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        AtomicBoolean deploymentBroken = new AtomicBoolean(true);
        MessagePublisher publisher = new MessagePublisher() {
            @Override
            public void publish(OutboxMessage message) {
                throw new IllegalStateException("broker refused " + message.id());
            }

            @Override
            public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
                if (deploymentBroken.get()) {
                    throw new NoSuchMethodError("'boolean com.example.broker.Client.isSet()'");
                }
                return MessagePublisher.super.publishAll(batch);
            }
        };
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).claimMode(mode).maxAttempts(3).build();

        for (int i = 0; i < 5; i++) { // the default lease (30 s) has not ended: each claim finds it again at once
            assertThatThrownBy(poller::pollOnce).isInstanceOf(NoSuchMethodError.class);
            assertThat(row(id)).as("given back uncounted").containsEntry("attempts", 0).containsEntry("locked_by", null);
        }
        deploymentBroken.set(false); // the dependency is fixed
        assertThat(poller.pollOnce()).isOne(); // the broker refuses once

        assertThat(row(id)).as("one real failed attempt of 3").containsEntry("status", "PENDING")
                .containsEntry("attempts", 1);
    }

    @Test
    void a_broken_deployment_failing_every_cycle_is_logged_in_full_once() {
        Outbox.write(db.jdbi(), 1, 1);
        AtomicInteger brokenCycles = new AtomicInteger(5);
        MessagePublisher publisher = new MessagePublisher() {
            @Override
            public void publish(OutboxMessage message) {
            }

            @Override
            public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
                if (brokenCycles.getAndDecrement() > 0) {
                    throw new NoSuchMethodError("'boolean com.example.broker.Client.isSet()'");
                }
                return MessagePublisher.super.publishAll(batch);
            }
        };
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).name("broken-deployment")
                .pollInterval(Duration.ofMillis(20)).build();
        List<String> lines;
        try (CapturedStderr log = CapturedStderr.start()) {
            try {
                poller.start();
                await().atMost(Duration.ofSeconds(30)).until(() -> Outbox.count(db.jdbi(), "PUBLISHED") == 1);
            } finally {
                poller.close();
            }
            lines = log.linesWith("[broken-deployment]");
        }
        assertThat(lines).filteredOn(line -> line.contains("ERROR")).as("five cycles failed the same way").hasSize(1);
        assertThat(brokenCycles.get()).as("every broken cycle ran").isNegative();
    }

    @Test
    void giving_a_batch_back_after_a_linkage_error_is_bounded_by_the_statement_timeout() throws Exception {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        // another transaction (an operator's statement, a migration) holds the row until told
        HeldLock row = HeldLock.of(db.jdbi(), "SELECT id FROM outbox WHERE id = ? FOR UPDATE", id);
        MessagePublisher publisher = new MessagePublisher() {
            @Override
            public void publish(OutboxMessage message) {
            }

            @Override
            public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
                row.take();
                throw new NoSuchMethodError("'boolean com.example.broker.Client.isSet()'");
            }
        };
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).statementTimeout(Duration.ofMillis(500)).build();
        try (row) {
            assertThatThrownBy(poller::pollOnce).isInstanceOf(NoSuchMethodError.class);

            assertThat(row.isHeld()).as("the cycle ended while the row was still held: its give-back gave up").isTrue();
        }
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_message_the_publisher_reports_not_sent_spends_no_attempt_is_not_a_failure_and_is_claimable_at_once(
            ClaimMode mode) {
        List<UUID> ids = Outbox.write(db.jdbi(), 2, 1);
        UUID notSent = ids.get(1);
        RecordingListener listener = new RecordingListener();
        OutboxPoller stopping = OutboxPoller.builder(db.jdbi(), reporting(batch -> batch.stream()
                        .filter(m -> m.id().equals(notSent))
                        .collect(Collectors.toMap(OutboxMessage::id, m -> new NotSentException("not sent: stopping")))))
                .claimMode(mode).maxAttempts(1).addListener(listener).build();

        assertThat(stopping.pollOnce()).isEqualTo(2);

        assertThat(row(ids.get(0))).containsEntry("status", "PUBLISHED");
        assertThat(row(notSent)).as("not even the last of its attempts spent, nor a failure recorded")
                .containsEntry("status", "PENDING").containsEntry("attempts", 0).containsEntry("last_error", null)
                .containsEntry("locked_by", null);
        assertThat(listener.failures).as("no failure told").isEmpty();
        OutboxPoller another = OutboxPoller.builder(db.jdbi(), m -> { }).claimMode(mode).build();
        assertThat(another.pollOnce()).as("claimed again at once, by another poller").isOne();
        assertThat(row(notSent)).containsEntry("status", "PUBLISHED");
    }

    @Test
    void a_give_back_of_not_sent_messages_that_fails_still_counts_and_tells_the_deliveries_already_recorded()
            throws Exception {
        List<UUID> ids = Outbox.write(db.jdbi(), 2, 1);
        UUID sent = ids.get(0);
        UUID notSent = ids.get(1);
        HeldLock row = HeldLock.of(db.jdbi(), "SELECT id FROM outbox WHERE id = ? FOR UPDATE", notSent);
        RecordingListener listener = new RecordingListener();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), reporting(batch -> {
                    try {
                        row.take();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                    return Map.of(notSent, new NotSentException("not sent: stopping"));
                }))
                .claimMode(ClaimMode.LEASE).statementTimeout(Duration.ofMillis(500)).addListener(listener).build();
        try (row) {
            assertThat(poller.pollOnce()).as("a cycle, not a poll error: the give-back is best effort").isEqualTo(2);

            assertThat(row(sent)).containsEntry("status", "PUBLISHED");
            assertThat(listener.deliveries).as("the delivery recorded is told").extracting(RecordingListener.Delivery::id)
                    .containsExactly(sent);
            assertThat(poller.stats().delivered()).as("and counted").isEqualTo(1);
        }
    }

    /**
     * Writes, in one transaction, two messages of aggregates named slow-… then two named fast-…: a
     * worker woken by its commit claims the slow ones (a full batch of 2), and wakes the other for
     * the fast ones. Returns the slow ones' ids.
     */
    private static List<UUID> writeSlowThenFast() {
        return db.jdbi().inTransaction(h -> {
            OutboxWriter writer = OutboxWriter.create();
            List<UUID> ids = List.of(writer.write(h, Outbox.message("slow-1", 0)), writer.write(h, Outbox.message("slow-2", 0)));
            writer.write(h, Outbox.message("fast-1", 0));
            writer.write(h, Outbox.message("fast-2", 0));
            return ids;
        });
    }

    /** A publisher whose {@code publishAll} returns what {@code outcome} makes of the batch. */
    private static MessagePublisher reporting(Function<List<OutboxMessage>, Map<UUID, Exception>> outcome) {
        return new MessagePublisher() {
            @Override
            public void publish(OutboxMessage message) {
            }

            @Override
            public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) {
                return outcome.apply(batch);
            }
        };
    }

    private static void makeDue(UUID id) {
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET available_at = now() WHERE id = ?", id));
    }

    private static Map<String, Object> row(UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery("""
                SELECT status, attempts, last_error, locked_by,
                       extract(epoch FROM available_at - now()) AS delay_seconds
                FROM outbox WHERE id = ?""").bind(0, id).mapToMap().one());
    }
}
