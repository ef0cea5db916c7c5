package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.SlowUpdates;
import io.outboxkit.testing.TcpProxy;
import io.outboxkit.testing.ThreadPerTask;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OutboxAdminTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    private final OutboxAdmin admin = OutboxAdmin.create(db.jdbi());

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @Test
    void lists_messages_by_status_oldest_first_with_their_last_error() {
        List<UUID> ids = Outbox.write(db.jdbi(), 3, 1);
        db.jdbi().useHandle(h -> h.execute(
                "UPDATE outbox SET status = 'DEAD', attempts = 10, last_error = 'HTTP 500' WHERE id = ?", ids.get(1)));
        assertThat(admin.list(MessageStatus.PENDING, 10)).extracting(e -> e.message().id())
                .containsExactly(ids.get(0), ids.get(2));
        List<OutboxEntry> dead = admin.list(MessageStatus.DEAD, 10);
        assertThat(dead).singleElement().satisfies(e -> {
            assertThat(e.message().id()).isEqualTo(ids.get(1));
            assertThat(e.lastError()).isEqualTo("HTTP 500");
            assertThat(e.message().attempts()).isEqualTo(10);
        });
        assertThat(admin.list(MessageStatus.PENDING, 1)).hasSize(1);
        assertThatThrownBy(() -> admin.list(MessageStatus.PENDING, 0)).hasMessageContaining("limit");
    }

    @Test
    void list_after_a_sequence_continues_where_the_limit_stopped_and_says_when_nothing_is_left() {
        List<UUID> ids = Outbox.write(db.jdbi(), OutboxAdmin.LIST_PAGE_WITH_PAYLOADS * 2 + 3, 1);
        List<OutboxEntry> first = new ArrayList<>();

        OptionalLong rest = admin.list(MessageStatus.PENDING, 0, OutboxAdmin.LIST_PAGE_WITH_PAYLOADS * 2, true, first::add);

        assertThat(first).extracting(e -> e.message().id()).containsExactlyElementsOf(ids.subList(0, first.size()))
                .hasSize(OutboxAdmin.LIST_PAGE_WITH_PAYLOADS * 2);
        assertThat(first).allSatisfy(e -> assertThat(e.message().payload()).startsWith("{"));
        assertThat(rest).hasValue(first.get(first.size() - 1).message().sequence());

        List<OutboxEntry> last = new ArrayList<>();
        assertThat(admin.list(MessageStatus.PENDING, rest.getAsLong(), 10, true, last::add)).isEmpty();
        assertThat(last).extracting(e -> e.message().id()).containsExactlyElementsOf(ids.subList(first.size(), ids.size()));
        assertThat(admin.list(MessageStatus.DEAD, 0, 10, true, e -> { })).as("none DEAD").isEmpty();
        assertThatThrownBy(() -> admin.list(MessageStatus.PENDING, -1, 10, true, e -> { })).hasMessageContaining("after");
    }

    @Test
    void list_without_payloads_reads_everything_else() {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'DEAD', last_error = 'HTTP 500' WHERE id = ?", id));
        List<OutboxEntry> entries = new ArrayList<>();

        assertThat(admin.list(MessageStatus.DEAD, 0, 10, false, entries::add)).isEmpty();

        assertThat(entries).singleElement().satisfies(e -> {
            assertThat(e.message().payload()).isEmpty();
            assertThat(e).usingRecursiveComparison().ignoringFields("message.payload")
                    .isEqualTo(admin.find(id).orElseThrow());
            assertThat(e.lastError()).isEqualTo("HTTP 500");
        });
    }

    @Test
    void counts_the_rows_in_each_status() {
        assertThat(admin.counts()).isEqualTo(new OutboxCounts(0, 0, 0));
        List<UUID> ids = Outbox.write(db.jdbi(), 6, 1);
        db.jdbi().useHandle(h -> {
            h.execute("UPDATE outbox SET status = 'DEAD' WHERE id = ?", ids.get(0));
            h.execute("UPDATE outbox SET status = 'PUBLISHED', published_at = now() WHERE id IN (?, ?)", ids.get(1), ids.get(2));
        });
        OutboxCounts counts = admin.counts();
        assertThat(counts).isEqualTo(new OutboxCounts(3, 2, 1));
        assertThat(counts.of(MessageStatus.PUBLISHED)).isEqualTo(2);
    }

    @Test
    void requeue_puts_a_message_back_to_pending_with_its_attempts_reset() {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'DEAD', attempts = 10, "
                + "available_at = now() + interval '1 day' WHERE id = ?", id));
        assertThat(admin.requeue(id)).isTrue();
        OutboxEntry entry = admin.find(id).orElseThrow();
        assertThat(entry.status()).isEqualTo(MessageStatus.PENDING);
        assertThat(entry.message().attempts()).isZero();
        assertThat(entry.availableAt()).isBeforeOrEqualTo(Instant.now().plusSeconds(1));
        assertThat(admin.requeue(UUID.randomUUID())).as("unknown id").isFalse();
    }

    @Test
    void requeue_marks_each_message_with_the_databases_time_of_the_requeue_keeping_its_other_headers() {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET headers = '{\"tenant\": \"t-1\"}' WHERE id = ?", id));
        Instant before = admin.databaseTime();
        assertThat(admin.requeue(id)).isTrue();
        String first = admin.find(id).orElseThrow().message().headers().get(OutboxAdmin.REQUEUED_AT_HEADER);
        assertThat(Instant.parse(first)).isBetween(before, admin.databaseTime());
        assertThat(first).matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}Z");

        assertThat(admin.requeue(id)).isTrue();
        assertThat(admin.find(id).orElseThrow().message().headers())
                .as("a later requeue replaces the mark; the message's own headers stay")
                .containsEntry("tenant", "t-1")
                .hasEntrySatisfying(OutboxAdmin.REQUEUED_AT_HEADER, later -> assertThat(later).isGreaterThan(first))
                .hasSize(2);
    }

    @ParameterizedTest
    @ValueSource(strings = {"null", "[]", "\"legacy\"", "[{\"tenant\": \"t-1\"}]"})
    void requeue_marks_a_message_whose_stored_headers_are_not_an_object_too(String stored) {
        // Written by SQL or an old release: delivered with no headers, and replayed marked like any other.
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'DEAD', headers = ?::jsonb WHERE id = ?", stored, id));

        assertThat(admin.requeue(id)).isTrue();

        assertThat(admin.find(id).orElseThrow().message().headers()).as("stored headers %s", stored)
                .containsOnlyKeys(OutboxAdmin.REQUEUED_AT_HEADER);
    }

    @Test
    void requeue_dead_and_since_select_what_they_say() {
        List<UUID> ids = Outbox.write(db.jdbi(), 4, 1);
        db.jdbi().useHandle(h -> {
            h.execute("UPDATE outbox SET status = 'DEAD' WHERE id IN (?, ?)", ids.get(0), ids.get(1));
            h.execute("UPDATE outbox SET status = 'PUBLISHED', published_at = now(), created_at = now() - interval '2 hours' "
                    + "WHERE id = ?", ids.get(2));
            h.execute("UPDATE outbox SET status = 'PUBLISHED', published_at = now() WHERE id = ?", ids.get(3));
        });
        assertThat(admin.requeueDead()).isEqualTo(2);
        assertThat(admin.requeueSince(Instant.now().minusSeconds(3600))).as("all but the 2-hour-old one").isEqualTo(3);
        assertThat(admin.find(ids.get(2)).orElseThrow().status()).isEqualTo(MessageStatus.PUBLISHED);
        assertThat(admin.find(ids.get(3)).orElseThrow().status()).isEqualTo(MessageStatus.PENDING);
    }

    @Test
    void database_time_is_the_clock_that_stamps_created_at_so_a_message_just_written_is_not_after_it() {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        Instant written = db.jdbi().withHandle(h -> h.createQuery("SELECT created_at FROM outbox WHERE id = :id")
                .bind("id", id).mapTo(OffsetDateTime.class).one()).toInstant();

        assertThat(admin.databaseTime()).isAfterOrEqualTo(written);
        assertThat(admin.requeueSince(written)).isOne();
    }

    @Test
    void requeue_since_takes_any_instant_as_it_is_even_beyond_postgresqls_timestamps() {
        List<UUID> ids = Outbox.write(db.jdbi(), 2, 1);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'PUBLISHED', published_at = now()"));

        // A year so far ahead that its milliseconds overflow a long: it once wrapped to 1970 and matched all.
        assertThat(admin.requeueSince(Instant.parse("+584556019-04-03T14:25:52Z"))).isZero();
        assertThat(admin.requeueSince(Instant.parse("+300000-01-01T00:00:00Z"))).isZero();
        assertThat(admin.requeueSince(Instant.now().plusSeconds(3600))).isZero();
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isEqualTo(2);

        assertThat(admin.requeueSince(Instant.parse("-2735825-02-10T12:00:00Z"))).as("before any message: all").isEqualTo(2);
        assertThat(ids).allSatisfy(id -> assertThat(admin.find(id).orElseThrow().status()).isEqualTo(MessageStatus.PENDING));
    }

    @Test
    void a_large_requeue_commits_batch_by_batch_in_write_order_requeuing_each_message_once() {
        int messages = 2 * OutboxAdmin.REQUEUE_BATCH + 5;
        writeDead(messages);

        assertThat(admin.requeueDead()).isEqualTo(messages);

        assertThat(Outbox.count(db.jdbi(), "PENDING")).isEqualTo(messages);
        List<String> transactions = db.jdbi().withHandle(h -> h.createQuery("SELECT DISTINCT headers->>'"
                + OutboxAdmin.REQUEUED_AT_HEADER + "' FROM outbox").mapTo(String.class).list());
        assertThat(transactions).as("one committed transaction (one time of requeue) per batch").hasSize(3);
    }

    @Test
    void a_requeue_batch_that_runs_past_its_statement_timeout_is_ended_by_the_server_and_the_failure_says_what_was_requeued() {
        writeDead(OutboxAdmin.REQUEUE_BATCH + 1);
        SlowUpdates.of(db.jdbi(), "outbox", 2, OutboxAdmin.REQUEUE_STATEMENT_TIMEOUT.plusSeconds(20));

        assertThatThrownBy(admin::requeueDead)
                .isInstanceOfSatisfying(RequeueException.class, e -> {
                    assertThat(e.requeued()).isEqualTo(OutboxAdmin.REQUEUE_BATCH);
                    assertThat(e).hasMessageContaining("statement_timeout")
                            .hasMessageContaining(OutboxAdmin.REQUEUE_BATCH + " messages were requeued before it");
                });

        assertThat(SlowUpdates.sleeping(db.jdbi())).as("nothing of the requeue runs on after it failed").isZero();
        assertThat(Outbox.count(db.jdbi(), "DEAD")).as("the failed batch rolled back whole").isOne();
        SlowUpdates.remove(db.jdbi(), "outbox");
        assertThat(admin.requeueDead()).as("calling again requeues the rest").isOne();
    }

    @Test
    void a_requeue_failing_in_the_callers_transaction_reports_nothing_requeued_and_that_the_transaction_must_roll_back()
            throws Exception {
        writeDead(OutboxAdmin.REQUEUE_BATCH + 1);
        try (HeldLock lastRow = HeldLock.of(db.jdbi(), "SELECT 1 FROM outbox WHERE seq = (SELECT max(seq) FROM outbox) "
                + "FOR UPDATE").take();
             java.sql.Connection connection = db.dataSource().getConnection()) {
            connection.setAutoCommit(false);
            try (java.sql.Statement caller = connection.createStatement()) {
                caller.execute("SET LOCAL lock_timeout = '200ms'"); // the caller's transaction, its timeouts
            }
            OutboxAdmin inCallers = adminOn(connection);

            assertThatThrownBy(inCallers::requeueDead).isInstanceOfSatisfying(RequeueException.class, e -> {
                assertThat(e.requeued()).as("the first batch rolls back with the caller's transaction").isZero();
                assertThat(e.resumeAfter()).isZero();
                assertThat(e).hasMessageContaining("nothing was requeued: the caller's transaction")
                        .hasMessageContaining("must be rolled back");
            });
            connection.rollback();
        }
        assertThat(Outbox.count(db.jdbi(), "DEAD")).isEqualTo(OutboxAdmin.REQUEUE_BATCH + 1);
    }

    @Test
    void a_requeue_that_is_the_first_statement_of_the_callers_transaction_joins_it_from_its_first_batch()
            throws Exception {
        writeDead(OutboxAdmin.REQUEUE_BATCH + 1);
        try (HeldLock lastRow = HeldLock.of(db.jdbi(), "SELECT 1 FROM outbox WHERE seq = (SELECT max(seq) FROM outbox) "
                + "FOR UPDATE").take();
             java.sql.Connection connection = db.dataSource().getConnection()) {
            try (java.sql.Statement session = connection.createStatement()) {
                session.execute("SET lock_timeout = '200ms'"); // the session's, so that the transaction runs no statement first
            }
            connection.setAutoCommit(false);
            OutboxAdmin inCallers = adminOn(connection);

            try {
                assertThatThrownBy(inCallers::requeueDead).isInstanceOfSatisfying(RequeueException.class, e -> {
                    assertThat(e.requeued()).as("the first batch rolls back with the caller's transaction").isZero();
                    assertThat(e).hasMessageContaining("nothing was requeued: the caller's transaction")
                            .hasMessageContaining("the transaction's lock_timeout");
                });
            } finally {
                connection.rollback();
                connection.setAutoCommit(true);
                try (java.sql.Statement session = connection.createStatement()) {
                    session.execute("RESET lock_timeout");
                }
            }
        }
        assertThat(Outbox.count(db.jdbi(), "DEAD")).isEqualTo(OutboxAdmin.REQUEUE_BATCH + 1);
    }

    @Test
    void a_requeue_that_begins_after_cancel_requeues_runs_no_batch_and_says_so() {
        writeDead(2);
        OutboxAdmin stopping = OutboxAdmin.create(db.jdbi());

        assertThat(stopping.cancelRequeues(Duration.ZERO)).as("none was running").isTrue();

        assertThatThrownBy(stopping::requeueDead).isInstanceOfSatisfying(RequeueException.class, e -> {
            assertThat(e.requeued()).isZero();
            assertThat(e).hasMessageContaining("cancelled before it began; nothing was requeued");
        });
        assertThatThrownBy(() -> stopping.requeueSince(Instant.EPOCH)).isInstanceOf(RequeueException.class)
                .hasMessageContaining("cancelled before it began");
        assertThat(Outbox.count(db.jdbi(), "DEAD")).isEqualTo(2);
    }

    @Test
    void cancel_requeues_keeps_to_its_wait_while_the_database_is_silent_and_the_requeue_says_what_its_batches_committed()
            throws Exception {
        writeDead(OutboxAdmin.REQUEUE_BATCH + 1);
        SlowUpdates.of(db.jdbi(), "outbox", 2, Duration.ofMinutes(2));
        int port = URI.create(db.jdbcUrl().substring("jdbc:".length())).getPort();
        try (TcpProxy network = new TcpProxy(port)) {
            Properties login = db.login();
            // The driver's cancel then gives up after 1 s, not 10: the requeue's statement waits for it.
            login.setProperty("cancelSignalTimeout", "1");
            OutboxAdmin cutOff = OutboxAdmin.create(Jdbi.create(network.uri(db.jdbcUrl()), login));
            CompletableFuture<Integer> requeue = CompletableFuture.supplyAsync(cutOff::requeueDead, ThreadPerTask.INSTANCE);
            Instant deadline = Instant.now().plusSeconds(20);
            while (SlowUpdates.sleeping(db.jdbi()) == 0) {
                assertThat(Instant.now()).as("the second batch is running").isBefore(deadline);
                Thread.onSpinWait();
            }
            network.freeze(); // the database goes silent: neither the cancel nor an answer gets through

            long stopping = System.nanoTime();
            boolean ended = cutOff.cancelRequeues(Duration.ofSeconds(4));
            Duration took = Duration.ofNanos(System.nanoTime() - stopping);

            assertThat(took).as("cancelRequeues kept to its wait").isLessThan(Duration.ofMillis(4500));
            assertThat(ended).as("the requeue ended within it").isTrue();
            assertThat(requeue).failsWithin(Duration.ofSeconds(1)).withThrowableOfType(ExecutionException.class)
                    .havingCause().isInstanceOfSatisfying(RequeueException.class, e -> {
                        assertThat(e.requeued()).isEqualTo(OutboxAdmin.REQUEUE_BATCH);
                        assertThat(e).hasMessageContaining("cancelled");
                    });
        }
        assertThat(Outbox.count(db.jdbi(), "PENDING")).as("the first batch's, committed").isEqualTo(OutboxAdmin.REQUEUE_BATCH);
    }

    @Test
    void cancel_requeues_ends_the_running_batch_on_the_server_and_the_requeue_says_what_its_batches_committed()
            throws Exception {
        writeDead(OutboxAdmin.REQUEUE_BATCH + 1);
        SlowUpdates.of(db.jdbi(), "outbox", 2, Duration.ofMinutes(2));
        CompletableFuture<Integer> requeue = CompletableFuture.supplyAsync(admin::requeueDead, ThreadPerTask.INSTANCE);
        Instant deadline = Instant.now().plusSeconds(20);
        while (SlowUpdates.sleeping(db.jdbi()) == 0) {
            assertThat(Instant.now()).as("the second batch is running").isBefore(deadline);
            Thread.onSpinWait();
        }

        assertThat(admin.cancelRequeues(Duration.ofSeconds(5))).as("the requeue ended").isTrue();

        assertThat(requeue).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
                .havingCause().isInstanceOfSatisfying(RequeueException.class, e -> {
                    assertThat(e.requeued()).isEqualTo(OutboxAdmin.REQUEUE_BATCH);
                    assertThat(e).hasMessageContaining("cancelled");
                });
        assertThat(SlowUpdates.sleeping(db.jdbi())).as("the cancelled statement is not running").isZero();
        assertThat(Outbox.count(db.jdbi(), "PENDING")).isEqualTo(OutboxAdmin.REQUEUE_BATCH);
    }

    @Test
    void cancel_requeues_ends_a_requeue_still_reading_where_the_outbox_ends_before_its_first_batch() throws Exception {
        writeDead(2);
        try (Handle migration = db.jdbi().open()) {
            migration.begin();
            migration.execute("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE"); // the requeue's first read waits
            CompletableFuture<Integer> requeue = CompletableFuture.supplyAsync(admin::requeueDead, ThreadPerTask.INSTANCE);
            Instant deadline = Instant.now().plusSeconds(20);
            while (!anotherWaitsForALock()) {
                assertThat(Instant.now()).as("the requeue waits for the outbox").isBefore(deadline);
                Thread.onSpinWait();
            }

            assertThat(admin.cancelRequeues(Duration.ofSeconds(5))).as("the requeue ended").isTrue();

            assertThat(requeue).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
                    .havingCause().isInstanceOfSatisfying(RequeueException.class, e -> {
                        assertThat(e.requeued()).isZero();
                        assertThat(e).hasMessageContaining("cancelled").hasMessageContaining("nothing was requeued");
                    });
            migration.rollback();
        }
        assertThat(Outbox.count(db.jdbi(), "DEAD")).isEqualTo(2);
    }

    @Test
    void requeue_since_resumes_after_the_write_position_a_stopped_requeue_reached_without_requeuing_those_again() {
        List<UUID> ids = Outbox.write(db.jdbi(), 3, 1);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'PUBLISHED', published_at = now()"));
        long first = admin.find(ids.get(0)).orElseThrow().message().sequence();

        assertThat(admin.requeueSince(Instant.now().minusSeconds(3600), first)).isEqualTo(2);

        assertThat(admin.find(ids.get(0)).orElseThrow().status()).isEqualTo(MessageStatus.PUBLISHED);
        assertThatThrownBy(() -> admin.requeueSince(Instant.now(), -1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("after");
    }

    @Test
    void a_requeue_that_deadlocks_with_a_poller_recording_a_batch_runs_the_batch_again() throws Exception {
        List<UUID> ids = Outbox.write(db.jdbi(), 2, 1);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'PUBLISHED', published_at = now()"));
        try (Handle poller = db.jdbi().open()) {
            // Only the requeue looks for the deadlock in time, so it is the one PostgreSQL aborts.
            poller.execute("SET deadlock_timeout = '60s'");
            poller.begin();
            // The poller holds the later message, the requeue (in write order) then waits for it...
            poller.execute("UPDATE outbox SET last_error = 'recorded' WHERE id = ?", ids.get(1));
            CompletableFuture<Integer> requeue = CompletableFuture.supplyAsync(
                    () -> admin.requeueSince(Instant.now().minusSeconds(3600)), ThreadPerTask.INSTANCE);
            Instant deadline = Instant.now().plusSeconds(20);
            while (!anotherWaitsForALock()) {
                assertThat(Instant.now()).as("the requeue waits for the poller's message").isBefore(deadline);
                Thread.onSpinWait();
            }
            // ...holding the earlier, which the poller now wants.
            poller.execute("UPDATE outbox SET last_error = 'recorded' WHERE id = ?", ids.get(0));
            poller.commit();

            assertThat(requeue.get(30, TimeUnit.SECONDS)).as("the batch ran again after the deadlock").isEqualTo(2);
        }
        assertThat(ids).allSatisfy(id -> {
            OutboxEntry entry = admin.find(id).orElseThrow();
            assertThat(entry.status()).isEqualTo(MessageStatus.PENDING);
            assertThat(entry.lastError()).as("the poller's record stands").isEqualTo("recorded");
        });
    }

    private static void writeDead(int count) {
        db.jdbi().useHandle(h -> h.execute("INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, "
                + "status, attempts) SELECT gen_random_uuid(), 'Order', 'agg-' || n, 'Event', '{}', 'DEAD', 10 "
                + "FROM generate_series(1, ?) n", count));
    }

    @Test
    void an_admin_over_an_applications_jdbi_that_binds_hash_prefixed_parameters_finds_and_requeues_a_message() {
        // The application's own Jdbi, set for its SQL's #name parameters (a parser Jdbi ships), given to the admin.
        org.jdbi.v3.core.Jdbi application = org.jdbi.v3.core.Jdbi.create(db.dataSource());
        application.getConfig(org.jdbi.v3.core.statement.SqlStatements.class)
                .setSqlParser(new org.jdbi.v3.core.statement.HashPrefixSqlParser());
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'DEAD', attempts = 10 WHERE id = ?", id));
        OutboxAdmin admin = OutboxAdmin.create(application);

        assertThat(admin.find(id)).as("the message, found by the admin over the application's Jdbi").isPresent();
        assertThat(admin.requeue(id)).as("its requeue").isTrue();
    }

    @AfterEach
    void fastUpdates() {
        SlowUpdates.remove(db.jdbi(), "outbox");
    }

    private static boolean anotherWaitsForALock() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                + "current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'")
                .mapTo(Long.class).one()) > 0;
    }

    /** An admin whose every statement runs on {@code connection}, as on a handle bound to a caller's transaction. */
    private static OutboxAdmin adminOn(java.sql.Connection connection) {
        return OutboxAdmin.create(CallersConnection.jdbiOn(connection));
    }
}
