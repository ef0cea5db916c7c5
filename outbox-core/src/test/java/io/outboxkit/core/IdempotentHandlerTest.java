package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.spi.MessageHandler;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.ThreadPerTask;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class IdempotentHandlerTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables, 24);

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
    void a_deadlock_in_a_callers_transaction_it_joined_is_surfaced_to_the_caller_not_retried_there() throws Exception {
        db.jdbi().useHandle(h -> h.execute("INSERT INTO effects (key, n) VALUES ('first', 0), ('second', 0)"));
        AtomicInteger attempts = new AtomicInteger();
        try (Connection caller = db.dataSource().getConnection(); Handle rival = db.jdbi().open()) {
            caller.setAutoCommit(false);
            try (Statement statement = caller.createStatement()) {
                statement.execute("UPDATE effects SET n = n + 1 WHERE key = 'first'");
            }
            // Only the caller's transaction looks for the deadlock in time, so it is the one PostgreSQL aborts.
            rival.execute("SET deadlock_timeout = '60s'");
            int rivalPid = rival.createQuery("SELECT pg_backend_pid()").mapTo(Integer.class).one();
            rival.begin();
            rival.execute("UPDATE effects SET n = n + 1 WHERE key = 'second'");
            CompletableFuture<Integer> rivalWantsFirst = CompletableFuture.supplyAsync(
                    () -> rival.execute("UPDATE effects SET n = n + 1 WHERE key = 'first'"), ThreadPerTask.INSTANCE);
            // The caller's one deadlock check, a second after it starts waiting, must find the rival already waiting.
            await().atMost(Duration.ofSeconds(30)).until(() -> waitsForALock(rivalPid));
            IdempotentHandler handler = IdempotentHandler.create(CallersConnection.jdbiOn(caller), "loyalty", (h, m) -> {
                attempts.incrementAndGet();
                h.execute("UPDATE effects SET n = n + 1 WHERE key = 'second'");
            });

            Throwable thrown;
            try {
                thrown = catchThrowable(() -> handler.handle(message("deadlocked")));
            } finally {
                caller.rollback(); // which lets the rival go on
                rivalWantsFirst.get(30, TimeUnit.SECONDS);
                rival.commit();
            }
            assertThat(thrown).as("the deadlock, which only the caller can resolve by running its transaction again")
                    .isInstanceOf(OutboxException.class)
                    .hasMessageContaining("deadlock victim").hasMessageContaining("rolled back to before the handler")
                    .hasMessageContaining("still holds its locks").hasMessageContaining("roll it back and run it again")
                    .satisfies(e -> assertThat(Conflicts.abortedByConflict(e)).as("a deadlock in the cause: " + e).isTrue());
            assertThat(attempts).as("the handler's runs in the caller's transaction").hasValue(1);
        }
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
    void a_batch_goes_to_the_handlers_batch_method_once_with_only_the_new_messages() {
        List<List<UUID>> batchCalls = new java.util.concurrent.CopyOnWriteArrayList<>();
        AtomicInteger singleCalls = new AtomicInteger();
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", new MessageHandler() {
            @Override
            public void handle(org.jdbi.v3.core.Handle h, OutboxMessage m) throws Exception {
                singleCalls.incrementAndGet();
                COUNT.handle(h, m);
            }

            @Override
            public void handleAll(org.jdbi.v3.core.Handle h, List<OutboxMessage> messages) throws Exception {
                batchCalls.add(messages.stream().map(OutboxMessage::id).toList());
                for (OutboxMessage m : messages) {
                    COUNT.handle(h, m);
                }
            }
        });
        OutboxMessage seen = message("f");
        handler.handle(seen);
        OutboxMessage a = message("g");
        OutboxMessage b = message("h");

        BatchOutcome outcome = handler.handleAll(List.of(a, seen, b, a));

        assertThat(batchCalls).containsExactly(List.of(a.id(), b.id()));
        assertThat(singleCalls).as("only the earlier single delivery").hasValue(1);
        assertThat(outcome.outcomes()).containsEntry(a.id(), Outcome.PROCESSED).containsEntry(b.id(), Outcome.PROCESSED)
                .containsEntry(seen.id(), Outcome.DUPLICATE);
        assertThat(effect("f") + effect("g") + effect("h")).isEqualTo(3);
    }

    @Test
    void when_the_batch_method_throws_its_writes_are_undone_and_each_message_is_applied_on_its_own() {
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", new MessageHandler() {
            @Override
            public void handle(org.jdbi.v3.core.Handle h, OutboxMessage m) throws Exception {
                if (m.aggregateId().equals("poison")) {
                    throw new IllegalArgumentException("unusable payload");
                }
                COUNT.handle(h, m);
            }

            @Override
            public void handleAll(org.jdbi.v3.core.Handle h, List<OutboxMessage> messages) throws Exception {
                for (OutboxMessage m : messages) {
                    COUNT.handle(h, m); // all written, the poison's too ...
                }
                throw new IllegalArgumentException("a payload of the batch is unusable"); // ... then undone
            }
        });
        OutboxMessage good = message("i");
        OutboxMessage poison = message("poison");

        BatchOutcome outcome = handler.handleAll(List.of(good, poison));

        assertThat(outcome.outcomes()).containsOnlyKeys(good.id()).containsEntry(good.id(), Outcome.PROCESSED);
        assertThat(outcome.failures()).containsOnlyKeys(poison.id());
        assertThat(effect("i")).isEqualTo(1);
        assertThat(effect("poison")).isZero();
        assertThat(processedRows()).isEqualTo(1);
    }

    @Test
    void a_deadlock_between_two_batches_rolls_one_back_whole_and_retries_it_so_each_effect_lands_once()
            throws Exception {
        CyclicBarrier bothHoldTheirFirstRow = new CyclicBarrier(2);
        AtomicInteger effects = new AtomicInteger();
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", (h, m) -> {
            COUNT.handle(h, m);
            if (effects.incrementAndGet() <= 2) {
                bothHoldTheirFirstRow.await(10, TimeUnit.SECONDS); // then each wants the row the other holds
            }
        });
        List<OutboxMessage> xThenY = List.of(message("x"), message("y"));
        List<OutboxMessage> yThenX = List.of(message("y"), message("x"));
        ExecutorService pool = Executors.newFixedThreadPool(2);
        Future<BatchOutcome> a = pool.submit(() -> handler.handleAll(xThenY));
        Future<BatchOutcome> b = pool.submit(() -> handler.handleAll(yThenX));

        List<BatchOutcome> outcomes = List.of(a.get(30, TimeUnit.SECONDS), b.get(30, TimeUnit.SECONDS));
        pool.shutdown();

        assertThat(outcomes).allSatisfy(o -> {
            assertThat(o.failures()).isEmpty();
            assertThat(o.outcomes().values()).containsOnly(Outcome.PROCESSED).hasSize(2);
        });
        // Four effects, and the deadlock victim's first one again; again more than once when its retry
        // wins the freed new row ahead of the survivor and deadlocks anew (each retry rolled back whole).
        assertThat(effects.get()).as("handler runs: four effects and the victims' rolled-back ones").isGreaterThanOrEqualTo(5);
        assertThat(effect("x")).isEqualTo(2);
        assertThat(effect("y")).isEqualTo(2);
        assertThat(processedRows()).isEqualTo(4);
    }

    /**
     * Applies its effect, then "inserts if absent" as on databases where a failed statement leaves
     * the transaction usable: for "once-" aggregates the insert fails (the row exists) and the
     * handler goes on. PostgreSQL has aborted the transaction by then.
     */
    private static final MessageHandler SWALLOWS_A_SQL_ERROR = (h, m) -> {
        COUNT.handle(h, m);
        if (m.aggregateId().startsWith("once-")) {
            try {
                h.execute("INSERT INTO effects (key, n) VALUES (?, 1)", m.aggregateId());
            } catch (RuntimeException alreadyThere) {
                // ignored, as the handler's author thought safe
            }
        }
    };

    @Test
    void a_handler_that_went_on_after_a_failed_statement_fails_the_message_instead_of_reporting_it_processed() {
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", SWALLOWS_A_SQL_ERROR);
        OutboxMessage message = message("once-a");

        assertThatThrownBy(() -> handler.handle(message)).isInstanceOf(MessageHandlingException.class)
                .hasMessageContaining("PostgreSQL aborted the transaction");

        assertThat(processedRows()).isZero();
        assertThat(effect("once-a")).isZero();
    }

    @Test
    void in_a_batch_such_a_message_fails_alone_and_the_others_commit() {
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", (h, m) -> {
            SWALLOWS_A_SQL_ERROR.handle(h, m);
            if (m.aggregateId().equals("throws")) {
                throw new IllegalArgumentException("unusable payload");
            }
        });
        OutboxMessage good = message("good");
        OutboxMessage throwing = message("throws");
        OutboxMessage swallowing = message("once-b");
        OutboxMessage later = message("later");

        BatchOutcome outcome = handler.handleAll(List.of(good, throwing, swallowing, later));

        assertThat(outcome.outcomes()).containsOnlyKeys(good.id(), later.id()).containsValues(Outcome.PROCESSED);
        assertThat(outcome.failures()).containsOnlyKeys(throwing.id(), swallowing.id());
        assertThat(outcome.failures().get(swallowing.id())).hasMessageContaining("PostgreSQL aborted the transaction");
        assertThat(effect("good")).isEqualTo(1);
        assertThat(effect("later")).isEqualTo(1);
        assertThat(effect("once-b")).isZero();
        assertThat(processedRows()).isEqualTo(2);
    }

    @Test
    void a_blank_consumer_name_is_refused() {
        assertThatThrownBy(() -> IdempotentHandler.create(db.jdbi(), " ", COUNT))
                .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("consumer"))
                .hasMessage("IdempotentHandler: consumer must be a name, not blank");
    }

    @Test
    void a_consumer_name_postgresql_cannot_store_as_given_is_refused_at_create() {
        assertThatThrownBy(() -> IdempotentHandler.create(db.jdbi(), "loyalty\u0000", COUNT))
                .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("consumer"))
                .hasMessage("IdempotentHandler: consumer must not contain a NUL character (U+0000): PostgreSQL cannot store it");
        // Each would be recorded as "billing-?": the second's first delivery of a message would be a DUPLICATE.
        for (String halfACharacter : List.of("billing-\uD800", "billing-\uDC00")) {
            assertThatThrownBy(() -> IdempotentHandler.create(db.jdbi(), halfACharacter, COUNT))
                    .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("consumer"))
                    .hasMessageStartingWith("IdempotentHandler: consumer must not contain a lone UTF-16 surrogate");
        }
    }

    @Test
    void a_consumer_name_longer_than_the_processed_tables_key_takes_is_refused_at_create_and_the_longest_one_works() {
        String tooLong = "c".repeat(IdempotentHandler.MAX_CONSUMER_LENGTH + 1);
        assertThatThrownBy(() -> IdempotentHandler.create(db.jdbi(), tooLong, COUNT))
                .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("consumer"))
                .hasMessage("IdempotentHandler: consumer must be at most 200 characters (it is part of the "
                        + "processed-messages table's key), was 201");
        // The longest, in characters of three bytes of UTF-8 each: the most bytes a name of that length takes.
        String longest = "\u20ac".repeat(IdempotentHandler.MAX_CONSUMER_LENGTH);
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), longest, COUNT);
        OutboxMessage message = message("longest");
        assertThat(handler.handle(message)).isEqualTo(Outcome.PROCESSED);
        assertThat(handler.handle(message)).isEqualTo(Outcome.DUPLICATE);
    }

    @Test
    void a_handler_over_an_applications_jdbi_configured_for_its_own_sql_runs_with_that_configuration() {
        // The application's Jdbi, set for its SQL's #name parameters and with a query timeout of its own.
        org.jdbi.v3.core.Jdbi application = org.jdbi.v3.core.Jdbi.create(db.dataSource());
        application.getConfig(org.jdbi.v3.core.statement.SqlStatements.class)
                .setSqlParser(new org.jdbi.v3.core.statement.HashPrefixSqlParser()).setQueryTimeout(7);
        List<Integer> timeouts = new ArrayList<>();
        MessageHandler applicationsSql = (h, m) -> {
            timeouts.add(h.getConfig(org.jdbi.v3.core.statement.SqlStatements.class).getQueryTimeout());
            h.createUpdate("INSERT INTO effects (key, n) VALUES (#key, 1)").bind("key", m.aggregateId()).execute();
        };
        IdempotentHandler handler = IdempotentHandler.create(application, "loyalty", applicationsSql);

        assertThat(handler.handle(message("hash-1"))).isEqualTo(Outcome.PROCESSED);
        assertThat(handler.handleAll(List.of(message("hash-2"), message("hash-3"))).failures()).isEmpty();

        assertThat(effect("hash-1") + effect("hash-2") + effect("hash-3")).as("effects of #name SQL").isEqualTo(3);
        assertThat(timeouts).as("the query timeout the handler's statements run under").containsOnly(7);
    }

    private static OutboxMessage message(String aggregateId) {
        return new OutboxMessage(UUID.randomUUID(), 1, "Order", aggregateId, "OrderCreated", "{}", Map.of(),
                Instant.now(), 1);
    }

    private static int effect(String key) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT coalesce(max(n), 0) FROM effects WHERE key = ?")
                .bind(0, key).mapTo(Integer.class).one());
    }

    private static boolean waitsForALock(int pid) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM pg_stat_activity WHERE pid = ? "
                + "AND wait_event_type = 'Lock'").bind(0, pid).mapTo(Long.class).one()) > 0;
    }

    private static long processedRows() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM processed_messages").mapTo(Long.class).one());
    }
}
