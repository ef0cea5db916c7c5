package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.spi.MessageHandler;
import io.outboxkit.testing.PostgresExtension;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class IdempotentHandlerTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(24);

    /** The effect: one counter per aggregate, incremented by every processed message. */
    private static final MessageHandler COUNT = (h, m) -> h.execute(
            "INSERT INTO effects (key, n) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET n = effects.n + 1", m.aggregateId());

    @BeforeAll
    static void effectsTable() {
        db.jdbi().useHandle(h -> h.execute("CREATE TABLE effects (key text PRIMARY KEY, n int NOT NULL)"));
    }

    @BeforeEach
    void clean() {
        db.jdbi().useHandle(h -> h.execute("TRUNCATE effects, processed_messages"));
    }

    @Test
    void the_first_delivery_is_processed_and_a_redelivery_is_a_duplicate_that_changes_nothing() {
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", COUNT);
        OutboxMessage message = message("a");
        assertThat(handler.handle(message)).isEqualTo(Outcome.PROCESSED);
        assertThat(handler.handle(message)).isEqualTo(Outcome.DUPLICATE);
        assertThat(handler.handle(message)).isEqualTo(Outcome.DUPLICATE);
        assertThat(effect("a")).isEqualTo(1);
    }

    @Test
    void the_same_message_racing_on_eight_threads_has_its_effect_once() throws Exception {
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", COUNT);
        for (int round = 0; round < 20; round++) {
            OutboxMessage message = message("race-" + round);
            int threads = 8;
            CyclicBarrier start = new CyclicBarrier(threads);
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<Outcome>> outcomes = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                outcomes.add(pool.submit(() -> {
                    start.await();
                    return handler.handle(message);
                }));
            }
            List<Outcome> results = new ArrayList<>();
            for (Future<Outcome> outcome : outcomes) {
                results.add(outcome.get());
            }
            pool.shutdown();
            assertThat(results).filteredOn(o -> o == Outcome.PROCESSED).hasSize(1);
            assertThat(effect("race-" + round)).isEqualTo(1);
        }
    }

    @Test
    void a_failing_handler_rolls_back_its_effect_and_the_record_so_a_redelivery_processes_it() {
        AtomicBoolean fail = new AtomicBoolean(true);
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", (h, m) -> {
            COUNT.handle(h, m);
            if (fail.get()) {
                throw new IllegalArgumentException("payload lacks amount");
            }
        });
        OutboxMessage message = message("b");
        assertThatThrownBy(() -> handler.handle(message))
                .isInstanceOf(MessageHandlingException.class)
                .hasMessageContaining("payload lacks amount")
                .hasMessageContaining(message.id().toString());
        assertThat(effect("b")).isZero();
        assertThat(processedRows()).isZero();

        fail.set(false);
        assertThat(handler.handle(message)).isEqualTo(Outcome.PROCESSED);
        assertThat(effect("b")).isEqualTo(1);
    }

    @Test
    void each_consumer_sharing_the_database_processes_a_message_once() {
        OutboxMessage message = message("c");
        IdempotentHandler loyalty = IdempotentHandler.create(db.jdbi(), "loyalty", COUNT);
        IdempotentHandler billing = IdempotentHandler.create(db.jdbi(), "billing", COUNT);
        assertThat(loyalty.handle(message)).isEqualTo(Outcome.PROCESSED);
        assertThat(billing.handle(message)).isEqualTo(Outcome.PROCESSED);
        assertThat(loyalty.handle(message)).isEqualTo(Outcome.DUPLICATE);
        assertThat(billing.handle(message)).isEqualTo(Outcome.DUPLICATE);
        assertThat(effect("c")).isEqualTo(2);
    }

    @Test
    void a_batch_commits_new_messages_once_and_reports_duplicates_and_failures_apart() {
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", (h, m) -> {
            if (m.aggregateId().equals("poison")) {
                COUNT.handle(h, m); // written, then undone with its savepoint
                throw new IllegalArgumentException("unusable payload");
            }
            COUNT.handle(h, m);
        });
        OutboxMessage seen = message("d");
        handler.handle(seen);
        OutboxMessage fresh = message("d");
        OutboxMessage poison = message("poison");
        OutboxMessage other = message("e");

        BatchOutcome outcome = handler.handleAll(List.of(seen, fresh, poison, other, fresh));

        assertThat(outcome.outcomes()).containsEntry(seen.id(), Outcome.DUPLICATE)
                .containsEntry(fresh.id(), Outcome.PROCESSED).containsEntry(other.id(), Outcome.PROCESSED)
                .doesNotContainKey(poison.id());
        assertThat(outcome.failures()).containsOnlyKeys(poison.id());
        assertThat(outcome.failures().get(poison.id())).hasMessageContaining("unusable payload");
        assertThat(effect("d")).isEqualTo(2);
        assertThat(effect("e")).isEqualTo(1);
        assertThat(effect("poison")).isZero();
        assertThat(processedRows()).as("seen, fresh, other; not the poison").isEqualTo(3);
    }

    @Test
    void overlapping_batches_racing_on_two_threads_have_each_effect_once() throws Exception {
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", COUNT);
        List<OutboxMessage> batch = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            batch.add(message("overlap-" + i));
        }
        List<OutboxMessage> reversed = new ArrayList<>(batch);
        java.util.Collections.reverse(reversed);
        CyclicBarrier start = new CyclicBarrier(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        Future<BatchOutcome> a = pool.submit(() -> {
            start.await();
            return handler.handleAll(batch);
        });
        Future<BatchOutcome> b = pool.submit(() -> {
            start.await();
            return handler.handleAll(reversed);
        });
        long processed = java.util.stream.Stream.of(a.get(), b.get())
                .flatMap(o -> o.outcomes().values().stream()).filter(o -> o == Outcome.PROCESSED).count();
        pool.shutdown();
        assertThat(processed).isEqualTo(50);
        for (int i = 0; i < 50; i++) {
            assertThat(effect("overlap-" + i)).isEqualTo(1);
        }
    }

    @Test
    void a_blank_consumer_name_is_refused() {
        assertThatThrownBy(() -> IdempotentHandler.create(db.jdbi(), " ", COUNT))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("consumer name");
    }

    private static OutboxMessage message(String aggregateId) {
        return new OutboxMessage(UUID.randomUUID(), 1, "Order", aggregateId, "OrderCreated", "{}", Map.of(),
                Instant.now(), 1);
    }

    private static int effect(String key) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT coalesce(max(n), 0) FROM effects WHERE key = ?")
                .bind(0, key).mapTo(Integer.class).one());
    }

    private static long processedRows() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM processed_messages").mapTo(Long.class).one());
    }
}
