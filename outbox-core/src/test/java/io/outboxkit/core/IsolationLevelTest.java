package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.internal.WaitAnnouncement;
import io.outboxkit.testing.CapturedStderr;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.ThreadPerTask;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A database whose transactions default to REPEATABLE READ or SERIALIZABLE ({@code ALTER DATABASE
 * ... SET default_transaction_isolation}, as deployments that want it for their own code set per
 * database or role): the library's own transactions (claims, outcomes, requeues, announcements,
 * retention) still run at READ COMMITTED, which their SQL is written for, rather than fail as
 * serialization failures that stall a worker for a poll interval and, in lock mode, roll back the
 * record of a delivered batch. A consumer's effect keeps the database's level: it is the
 * application's business.
 *
 * <p>The deterministic cases make another transaction change a row while the library's statement
 * waits behind it: READ COMMITTED re-checks the row; the stricter levels fail with 40001.
 */
class IsolationLevelTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    private HikariDataSource pool;
    private Jdbi jdbi;

    /** A pool whose connections default to {@code isolation}; emptied outbox. */
    private void databaseDefaulting(String isolation) {
        Outbox.clear(db.jdbi());
        db.jdbi().useHandle(h -> h.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET "
                + "default_transaction_isolation = ''" + isolation + "''', current_database()); END $$"));
        pool = db.newPool(8); // its connections are made after the ALTER DATABASE
        jdbi = Jdbi.create(pool);
        String level = jdbi.withHandle(h -> h.createQuery("SHOW transaction_isolation").mapTo(String.class).one());
        assertThat(level).isEqualTo(isolation);
    }

    @AfterEach
    void tearDown() {
        if (pool != null) {
            pool.close();
        }
    }

    @ParameterizedTest(name = "{0}, claim mode {1}")
    @CsvSource({"serializable, LEASE", "serializable, LOCK", "repeatable read, LEASE", "repeatable read, LOCK"})
    void two_workers_drain_a_backlog_without_failed_polls_or_batches_delivered_twice(String isolation, ClaimMode mode) {
        databaseDefaulting(isolation);
        List<UUID> ids = Outbox.write(jdbi, 200, 5);
        RecordingPublisher publisher = new RecordingPublisher();
        RecordingListener listener = new RecordingListener();
        // Two workers, as the relay runs by default (WORKERS=2).
        OutboxPoller poller = OutboxPoller.builder(jdbi, publisher).name("strict").claimMode(mode).workers(2)
                .batchSize(10).addListener(listener).build();
        try {
            poller.start();
            await().atMost(Duration.ofSeconds(120)).until(() -> Outbox.count(jdbi, "PUBLISHED") == ids.size());
        } finally {
            poller.close();
        }
        assertThat(ids).allMatch(publisher::delivered);
        assertThat(listener.pollFailures).as("poll cycles failed (each stalls its worker for a poll interval)")
                .extracting(Exception::getMessage).isEmpty();
        assertThat(publisher.duplicates()).as("messages delivered again because their outcome did not commit").isEmpty();
    }

    @ParameterizedTest(name = "{0}, claim mode {1}")
    @CsvSource({"serializable, LEASE", "serializable, LOCK", "repeatable read, LEASE", "repeatable read, LOCK"})
    void a_claim_that_waited_behind_a_lock_while_another_transaction_recorded_a_delivery_claims_what_is_due(
            String isolation, ClaimMode mode) throws Exception {
        databaseDefaulting(isolation);
        List<UUID> ids = Outbox.write(jdbi, 2, 1); // agg-0, agg-1
        RecordingPublisher publisher = new RecordingPublisher();
        OutboxPoller poller = OutboxPoller.builder(jdbi, publisher).name("waiting").claimMode(mode).build();
        CompletableFuture<Integer> claimed;
        try (Handle other = db.jdbi().open()) {
            // Another session holds the outbox (a migration, an operator's maintenance) while it records
            // agg-0's message delivered, as another poller would.
            other.begin();
            other.execute("LOCK TABLE outbox IN EXCLUSIVE MODE");
            claimed = CompletableFuture.supplyAsync(poller::pollOnce, ThreadPerTask.INSTANCE);
            awaitOneWaitingOn("%outbox%SKIP LOCKED%");
            other.execute("UPDATE outbox SET status = 'PUBLISHED', published_at = now() WHERE id = ?", ids.get(0));
            other.commit();
        }
        assertThat(claimed.get(30, TimeUnit.SECONDS)).as("agg-1's message, claimed once the lock is gone").isOne();
        assertThat(publisher.delivered(ids.get(1))).isTrue();
        assertThat(publisher.delivered(ids.get(0))).isFalse();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"serializable", "repeatable read"})
    void a_requeue_that_waited_for_another_transaction_to_change_the_message_requeues_it(String isolation)
            throws Exception {
        databaseDefaulting(isolation);
        UUID id = Outbox.write(jdbi, 1, 1).get(0);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'DEAD', attempts = 10 WHERE id = ?", id));
        OutboxAdmin admin = OutboxAdmin.create(jdbi);
        CompletableFuture<Boolean> requeued;
        try (Handle other = db.jdbi().open()) {
            other.begin();
            other.execute("UPDATE outbox SET last_error = 'looked at by an operator' WHERE id = ?", id);
            requeued = CompletableFuture.supplyAsync(() -> admin.requeue(id), ThreadPerTask.INSTANCE);
            awaitOneWaitingOn("%UPDATE%outbox%");
            other.commit();
        }
        assertThat(requeued.get(30, TimeUnit.SECONDS)).isTrue();
        assertThat(Outbox.count(jdbi, "PENDING")).isOne();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"serializable", "repeatable read"})
    void an_announcement_that_waited_for_another_pollers_announcement_is_made(String isolation) throws Exception {
        databaseDefaulting(isolation);
        WaitAnnouncement announcement = new WaitAnnouncement(jdbi, OutboxNames.DEFAULT, Duration.ofSeconds(1), "waiting");
        CompletableFuture<WaitAnnouncement.Outcome> announced;
        try (Handle other = db.jdbi().open()) {
            other.begin();
            other.execute("INSERT INTO outbox_wakeup (waiting_until) VALUES (now() - interval '1 minute') "
                    + "ON CONFLICT (only_row) DO UPDATE SET waiting_until = excluded.waiting_until");
            announced = CompletableFuture.supplyAsync(announcement::beforeWaiting, ThreadPerTask.INSTANCE);
            awaitOneWaitingOn("%outbox_wakeup%");
            other.commit();
        }
        assertThat(announced.get(30, TimeUnit.SECONDS)).isEqualTo(WaitAnnouncement.Outcome.ANNOUNCED);
        boolean inForce = db.jdbi().withHandle(h -> h.createQuery("SELECT waiting_until > now() FROM outbox_wakeup")
                .mapTo(Boolean.class).one());
        assertThat(inForce).as("the announcement is in force").isTrue();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"serializable", "repeatable read"})
    void retention_deletes_at_read_committed(String isolation) {
        databaseDefaulting(isolation);
        List<UUID> ids = Outbox.write(jdbi, 3, 1);
        db.jdbi().useHandle(h -> {
            h.execute("UPDATE outbox SET status = 'PUBLISHED', published_at = now() - interval '2 days'");
            h.execute("CREATE TABLE deleted_at (isolation text)");
            h.execute("CREATE FUNCTION record_isolation() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "INSERT INTO deleted_at VALUES (current_setting('transaction_isolation')); RETURN NULL; END $$");
            h.execute("CREATE TRIGGER record_isolation AFTER DELETE ON outbox FOR EACH STATEMENT "
                    + "EXECUTE FUNCTION record_isolation()");
        });
        try {
            OutboxRetention.Result result = OutboxRetention.builder(jdbi).publishedRetention(Duration.ofDays(1))
                    .batchSize(2).build().runOnce();

            assertThat(result.publishedMessages()).isEqualTo(ids.size());
            List<String> levels = db.jdbi().withHandle(h -> h.createQuery("SELECT isolation FROM deleted_at")
                    .mapTo(String.class).list());
            assertThat(levels).as("each batch's isolation").containsExactly("read committed", "read committed");
        } finally {
            db.jdbi().useHandle(h -> h.execute("DROP TABLE deleted_at; DROP TRIGGER record_isolation ON outbox; "
                    + "DROP FUNCTION record_isolation()"));
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"serializable", "repeatable read"})
    void a_consumers_effect_runs_at_the_databases_isolation_level(String isolation) {
        databaseDefaulting(isolation);
        String[] seen = new String[1];
        IdempotentHandler handler = IdempotentHandler.create(jdbi, "isolation-test", (transaction, message) ->
                seen[0] = transaction.createQuery("SHOW transaction_isolation").mapTo(String.class).one());

        handler.handle(new OutboxMessage(UUID.randomUUID(), 1, "order", "1", "created", "{}", java.util.Map.of(),
                java.time.Instant.now(), 1));

        assertThat(seen[0]).isEqualTo(isolation);
    }

    @Test
    void a_poll_cycle_aborted_by_a_serialization_failure_is_retried_at_once_not_after_the_poll_interval() {
        Outbox.clear(db.jdbi());
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        // The first two claims fail as a serialization failure would (a sequence, which no rollback undoes, counts them).
        db.jdbi().useHandle(h -> {
            h.execute("CREATE SEQUENCE claims");
            h.execute("CREATE FUNCTION conflict_twice() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "IF nextval('claims') <= 2 THEN RAISE EXCEPTION 'a conflict' USING ERRCODE = 'serialization_failure'; "
                    + "END IF; RETURN NULL; END $$");
            h.execute("CREATE TRIGGER conflict_twice BEFORE UPDATE ON outbox FOR EACH STATEMENT "
                    + "EXECUTE FUNCTION conflict_twice()");
        });
        RecordingPublisher publisher = new RecordingPublisher();
        RecordingListener listener = new RecordingListener();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).name("conflicted")
                .pollInterval(Duration.ofMinutes(1)).addListener(listener).build();
        try {
            poller.start();
            await().atMost(Duration.ofSeconds(20)).until(() -> Outbox.count(db.jdbi(), "PUBLISHED") == 1);
        } finally {
            poller.close();
            db.jdbi().useHandle(h -> h.execute("DROP TRIGGER conflict_twice ON outbox; DROP FUNCTION conflict_twice(); "
                    + "DROP SEQUENCE claims"));
        }
        assertThat(publisher.delivered(id)).isTrue();
        assertThat(listener.pollFailures).as("the conflicts, told to the listeners").hasSize(2);
    }

    @Test
    void conflicts_that_keep_aborting_poll_cycles_are_told_once_at_warn() {
        Outbox.clear(db.jdbi());
        Outbox.write(db.jdbi(), 1, 1);
        int conflicts = OutboxPoller.CONFLICTS_BEFORE_WARNING + 5;
        db.jdbi().useHandle(h -> {
            h.execute("CREATE SEQUENCE claims");
            h.execute("CREATE FUNCTION conflict_often() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "IF nextval('claims') <= " + conflicts + " THEN "
                    + "RAISE EXCEPTION 'a conflict' USING ERRCODE = 'serialization_failure'; END IF; RETURN NULL; END $$");
            h.execute("CREATE TRIGGER conflict_often BEFORE UPDATE ON outbox FOR EACH STATEMENT "
                    + "EXECUTE FUNCTION conflict_often()");
        });
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), new RecordingPublisher()).name("conflicted-often")
                .pollInterval(Duration.ofMinutes(1)).build();
        List<String> warnings;
        try (CapturedStderr log = CapturedStderr.start()) {
            poller.start();
            await().atMost(Duration.ofSeconds(30)).until(() -> Outbox.count(db.jdbi(), "PUBLISHED") == 1);
            poller.close();
            warnings = log.linesWith("[conflicted-often]").stream().filter(line -> line.contains("WARN")).toList();
        } finally {
            poller.close();
            db.jdbi().useHandle(h -> h.execute("DROP TRIGGER conflict_often ON outbox; DROP FUNCTION conflict_often(); "
                    + "DROP SEQUENCE claims"));
        }
        assertThat(warnings).as("WARN lines of %d conflicts in a row", conflicts).hasSize(1);
        assertThat(warnings.get(0)).contains(OutboxPoller.CONFLICTS_BEFORE_WARNING + " poll cycles in a row aborted by a conflict");
    }

    /** Waits until one session of this database waits for a lock in a statement like {@code pattern}. */
    private static void awaitOneWaitingOn(String pattern) {
        await().atMost(Duration.ofSeconds(10)).until(() -> db.jdbi().withHandle(h -> h.createQuery(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                        + "AND query LIKE :pattern").bind("pattern", pattern).mapTo(Integer.class).one()) == 1);
    }
}
