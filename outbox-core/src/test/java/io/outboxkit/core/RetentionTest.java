package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class RetentionTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @Test
    void removes_only_published_messages_older_than_the_retention_period() {
        List<UUID> ids = Outbox.write(db.jdbi(), 6, 1);
        setState(ids.get(0), "PUBLISHED", "2 days");  // old and delivered: removed
        setState(ids.get(1), "PUBLISHED", "2 days");  // old and delivered: removed
        setState(ids.get(2), "PUBLISHED", "1 hour");  // delivered recently: kept
        setState(ids.get(3), "DEAD", "30 days");      // dead, however old: kept for an operator
        setState(ids.get(4), "PENDING", "30 days");   // never delivered: kept
        // ids.get(5): fresh and pending: kept

        OutboxRetention.Result result = OutboxRetention.builder(db.jdbi())
                .publishedRetention(Duration.ofDays(1)).batchSize(1).build().runOnce();

        assertThat(result.publishedMessages()).isEqualTo(2);
        List<UUID> left = db.jdbi().withHandle(h -> h.createQuery("SELECT id FROM outbox ORDER BY seq").mapTo(UUID.class).list());
        assertThat(left).containsExactly(ids.get(2), ids.get(3), ids.get(4), ids.get(5));
    }

    @Test
    void with_vacuum_on_a_run_that_deleted_rows_leaves_no_dead_rows_behind() {
        List<UUID> ids = Outbox.write(db.jdbi(), 50, 1);
        ids.forEach(id -> setState(id, "PUBLISHED", "2 days"));

        OutboxRetention.Result result = OutboxRetention.builder(db.jdbi())
                .publishedRetention(Duration.ofDays(1)).vacuum(true).build().runOnce();

        assertThat(result.publishedMessages()).isEqualTo(50);
        // Before PostgreSQL 15 (the embedded server is 14) a statistics collector process receives
        // the count, up to half a second after the VACUUM: read it until it arrives.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            long lastVacuumed = db.jdbi().withHandle(h -> h.createQuery(
                    "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'outbox'").mapTo(Long.class).one());
            assertThat(lastVacuumed).as("VACUUM ran on outbox").isPositive();
        });
    }

    @Test
    void with_vacuum_on_an_outbox_holding_many_dead_rows_is_vacuumed_though_nothing_was_deleted() {
        // Delivered messages kept by retention: each delivery left a dead row version behind.
        db.jdbi().useHandle(h -> {
            h.execute("INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload) "
                    + "SELECT gen_random_uuid(), 'Order', 'agg-' || g, 'OrderCreated', '{}' FROM generate_series(1, ?) g",
                    OutboxRetention.VACUUM_DEAD_ROWS + 100);
            h.execute("UPDATE outbox SET status = 'PUBLISHED', published_at = now()");
        });
        OutboxRetention retention = OutboxRetention.builder(db.jdbi()).vacuum(true).build();
        long before = vacuumCount();

        // The statistics reach pg_stat_user_tables up to a second or so after the update: run until they did.
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            assertThat(retention.runOnce().publishedMessages()).as("nothing old enough to delete").isZero();
            assertThat(vacuumCount()).as("VACUUM ran on outbox").isGreaterThan(before);
        });
    }

    @Test
    void with_vacuum_on_a_few_dead_rows_do_not_make_a_run_vacuum_the_outbox() {
        List<UUID> ids = Outbox.write(db.jdbi(), 50, 1);
        ids.forEach(id -> setState(id, "PUBLISHED", "1 hour"));
        long before = vacuumCount();

        OutboxRetention.builder(db.jdbi()).vacuum(true).build().runOnce();

        assertThat(vacuumCount()).isEqualTo(before);
    }

    private static long vacuumCount() {
        return db.jdbi().withHandle(h -> h.createQuery(
                "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'outbox'").mapTo(Long.class).one());
    }

    @Test
    void removes_processed_message_records_older_than_the_dedup_window() {
        db.jdbi().useHandle(h -> {
            h.execute("INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES "
                    + "('loyalty', gen_random_uuid(), now() - interval '40 days'), "
                    + "('billing', gen_random_uuid(), now() - interval '31 days'), "
                    + "('loyalty', gen_random_uuid(), now() - interval '29 days'), "
                    + "('loyalty', gen_random_uuid(), now())");
        });
        OutboxRetention.Result result = OutboxRetention.builder(db.jdbi()).build().runOnce();
        assertThat(result.processedMessages()).isEqualTo(2);
        long left = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM processed_messages").mapTo(Long.class).one());
        assertThat(left).isEqualTo(2);
    }

    @Test
    void limited_to_processed_messages_a_run_deletes_old_records_and_leaves_the_outbox_alone() {
        List<UUID> ids = Outbox.write(db.jdbi(), 2, 1);
        ids.forEach(id -> setState(id, "PUBLISHED", "2 days"));
        db.jdbi().useHandle(h -> h.execute("INSERT INTO processed_messages (consumer, message_id, processed_at) "
                + "VALUES ('loyalty', gen_random_uuid(), now() - interval '40 days')"));
        long vacuumsBefore = vacuumCount();

        OutboxRetention.Result result = OutboxRetention.builder(db.jdbi()).publishedRetention(Duration.ofDays(1))
                .vacuum(true).processedMessagesOnly(true).build().runOnce();

        assertThat(result).isEqualTo(new OutboxRetention.Result(0, 1));
        List<UUID> left = db.jdbi().withHandle(h -> h.createQuery("SELECT id FROM outbox ORDER BY seq").mapTo(UUID.class).list());
        assertThat(left).as("published messages past their retention, left to the relay").containsExactlyElementsOf(ids);
        assertThat(vacuumCount()).as("the outbox is not vacuumed").isEqualTo(vacuumsBefore);
    }

    @Test
    void a_run_failing_midway_says_how_many_rows_it_deleted_before_the_failure_and_still_cleans_the_other_table() {
        List<UUID> ids = Outbox.write(db.jdbi(), 5, 1);
        ids.forEach(id -> setState(id, "PUBLISHED", "2 days"));
        db.jdbi().useHandle(h -> {
            h.execute("INSERT INTO processed_messages (consumer, message_id, processed_at) "
                    + "VALUES ('loyalty', gen_random_uuid(), now() - interval '40 days')");
            // Refuses the fourth deletion: three batches of one commit, the fourth fails.
            h.execute("CREATE FUNCTION refuse_late_deletes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "IF (SELECT count(*) FROM outbox WHERE status = 'PUBLISHED') <= 2 THEN "
                    + "RAISE EXCEPTION 'deletes refused'; END IF; RETURN OLD; END $$");
            h.execute("CREATE TRIGGER refuse_late_deletes BEFORE DELETE ON outbox FOR EACH ROW "
                    + "EXECUTE FUNCTION refuse_late_deletes()");
        });
        try {
            OutboxRetention retention = OutboxRetention.builder(db.jdbi()).publishedRetention(Duration.ofDays(1))
                    .batchSize(1).build();

            assertThatThrownBy(retention::runOnce).isInstanceOf(OutboxException.class)
                    .hasMessageContaining("deletes refused")
                    .hasMessageContaining("3 deleted before the failure")
                    .hasMessageContaining("this run: 3 published outbox message(s) deleted, "
                            + "1 processed-message record(s) deleted");
            long processedLeft = db.jdbi().withHandle(h ->
                    h.createQuery("SELECT count(*) FROM processed_messages").mapTo(Long.class).one());
            assertThat(processedLeft).isZero();
        } finally {
            db.jdbi().useHandle(h -> {
                h.execute("DROP TRIGGER refuse_late_deletes ON outbox");
                h.execute("DROP FUNCTION refuse_late_deletes()");
            });
        }
    }

    @Test
    void an_interrupted_run_stops_after_its_batch_in_progress_and_the_next_run_deletes_the_rest() throws Exception {
        List<UUID> ids = Outbox.write(db.jdbi(), 40, 1);
        ids.forEach(id -> setState(id, "PUBLISHED", "2 days"));
        // 20 ms a row: ten batches of 4 take most of a second, time enough to interrupt the run between them.
        db.jdbi().useHandle(h -> h.execute("CREATE FUNCTION slow_delete() RETURNS trigger LANGUAGE plpgsql "
                + "AS $$ BEGIN PERFORM pg_sleep(0.02); RETURN OLD; END $$"));
        db.jdbi().useHandle(h -> h.execute("CREATE TRIGGER slow_delete BEFORE DELETE ON outbox "
                + "FOR EACH ROW EXECUTE FUNCTION slow_delete()"));
        try {
            OutboxRetention retention = OutboxRetention.builder(db.jdbi()).publishedRetention(Duration.ofDays(1))
                    .batchSize(4).build();
            CompletableFuture<OutboxRetention.Result> result = new CompletableFuture<>();
            CompletableFuture<Boolean> stillInterrupted = new CompletableFuture<>();
            Thread running = new Thread(() -> {
                result.complete(retention.runOnce());
                stillInterrupted.complete(Thread.currentThread().isInterrupted());
            }, "retention-run");
            running.start();
            await("a first batch deleted").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
                    .until(() -> outboxRows() < 40);

            running.interrupt();

            long deleted = result.get(10, TimeUnit.SECONDS).publishedMessages();
            assertThat(deleted).as("deleted before it stopped").isPositive().isLessThan(40);
            assertThat(outboxRows()).isEqualTo(40 - deleted);
            assertThat(stillInterrupted.get(10, TimeUnit.SECONDS)).as("the interrupt left for the caller").isTrue();
            assertThat(retention.runOnce().publishedMessages()).as("the next run").isEqualTo(40 - deleted);
        } finally {
            db.jdbi().useHandle(h -> h.execute("DROP TRIGGER slow_delete ON outbox"));
            db.jdbi().useHandle(h -> h.execute("DROP FUNCTION slow_delete()"));
        }
    }

    @Test
    void an_interrupt_during_the_vacuum_after_the_deletion_cancels_it_and_ends_the_run() throws Exception {
        List<UUID> ids = Outbox.write(db.jdbi(), 10, 1);
        ids.forEach(id -> setState(id, "PUBLISHED", "2 days"));
        // Anything that makes the VACUUM take long: here another session's lock it waits for.
        try (HeldLock lock = HeldLock.of(db.jdbi(), "LOCK TABLE outbox IN SHARE UPDATE EXCLUSIVE MODE").take()) {
            OutboxRetention retention = OutboxRetention.builder(db.jdbi()).publishedRetention(Duration.ofDays(1))
                    .vacuum(true).build();
            CompletableFuture<OutboxRetention.Result> result = new CompletableFuture<>();
            Thread running = new Thread(() -> result.complete(retention.runOnce()), "retention-run");
            running.start();
            await("the VACUUM under way").atMost(Duration.ofSeconds(10)).until(() -> db.jdbi().withHandle(h ->
                    h.createQuery("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'VACUUM%'")
                            .mapTo(Long.class).one()) > 0);

            running.interrupt(); // what RetentionTask.stop() does on SIGTERM

            try {
                result.get(RetentionTaskStopWait.MILLIS + 1_000, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // still in its VACUUM
            }
            assertThat(result).as("the run stopped within RetentionTask.STOP_WAIT (2 s) + 1 s of the interrupt, "
                    + "before the relay closes the pool under it").isDone();
        }
    }

    @Test
    void an_interrupt_that_comes_before_the_vacuum_statement_starts_still_stops_the_run_within_the_stop_wait() throws Exception {
        // The stop's interrupt lands while the run borrows the VACUUM's connection (or asks mayVacuum): the
        // FutureTask's get() then throws at once, statement.cancel() finds the statement not yet IN_QUERY (pgjdbc
        // returns without cancelling), and the VACUUM runs on after runOnce() returned and the handle went back.
        List<UUID> ids = Outbox.write(db.jdbi(), 10, 1);
        ids.forEach(id -> setState(id, "PUBLISHED", "2 days"));
        HeldLock lock = HeldLock.of(db.jdbi(), "LOCK TABLE outbox IN SHARE UPDATE EXCLUSIVE MODE").take();
        CountDownLatch borrowing = new CountDownLatch(1);
        CountDownLatch lend = new CountDownLatch(1);
        javax.sql.DataSource pool = db.dataSource();
        javax.sql.DataSource gated = (javax.sql.DataSource) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {javax.sql.DataSource.class}, (proxy, method, args) -> {
                    boolean forVacuum = java.util.Arrays.stream(Thread.currentThread().getStackTrace())
                            .anyMatch(f -> f.getClassName().equals(OutboxRetention.class.getName())
                                    && f.getMethodName().equals("vacuum"));
                    if (method.getName().equals("getConnection") && forVacuum) {
                        borrowing.countDown();
                        boolean interrupted = false;
                        while (true) {
                            try {
                                lend.await();
                                break;
                            } catch (InterruptedException e) {
                                interrupted = true;
                            }
                        }
                        Object connection = method.invoke(pool, args);
                        if (interrupted || Thread.interrupted()) {
                            Thread.currentThread().interrupt();
                        }
                        return connection;
                    }
                    try {
                        return method.invoke(pool, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        try {
            OutboxRetention retention = OutboxRetention.builder(org.jdbi.v3.core.Jdbi.create(gated))
                    .publishedRetention(Duration.ofDays(1)).vacuum(true).build();
            CompletableFuture<OutboxRetention.Result> result = new CompletableFuture<>();
            Thread running = new Thread(() -> result.complete(retention.runOnce()), "retention-run");
            running.start();
            assertThat(borrowing.await(20, TimeUnit.SECONDS)).isTrue();
            running.interrupt(); // RetentionTask.stop() on SIGTERM, while the VACUUM's connection is borrowed
            lend.countDown();
            long t0 = System.nanoTime();
            long vacuumsMeanwhile = 0;
            while (!result.isDone() && System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(RetentionTaskStopWait.MILLIS)) {
                vacuumsMeanwhile = Math.max(vacuumsMeanwhile, db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) "
                        + "FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE "
                        + "'VACUUM%'").mapTo(Long.class).one()));
                Thread.sleep(100);
            }
            try {
                result.get(RetentionTaskStopWait.MILLIS + 1_000 - (System.nanoTime() - t0) / 1_000_000, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // still in its VACUUM
            }
            assertThat(result).as("the run stopped within RetentionTask.STOP_WAIT (2 s) + 1 s of the interrupt, before "
                    + "the relay closes the pool under it (VACUUMs seen running meanwhile: " + vacuumsMeanwhile + ")").isDone();
        } finally {
            lock.close();
        }
    }

    /** RetentionTask.STOP_WAIT (app-support), which outbox-core cannot see. */
    private static final class RetentionTaskStopWait {
        static final long MILLIS = 2_000;
    }

    private static long outboxRows() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM outbox").mapTo(Long.class).one());
    }

    @Test
    void invalid_options_are_refused_by_name() {
        assertThatThrownBy(() -> OutboxRetention.builder(db.jdbi()).batchSize(0).build()).hasMessageContaining("batchSize");
        assertThatThrownBy(() -> OutboxRetention.builder(db.jdbi()).dedupWindow(Duration.ofDays(-1)).build())
                .hasMessageContaining("dedupWindow");
        assertThatThrownBy(() -> OutboxRetention.builder(db.jdbi()).publishedRetention(Duration.ofDays(3_650_000)).build())
                .isInstanceOf(InvalidOptionException.class)
                .hasMessageContaining("publishedRetention must be zero to 36500 days");
        assertThatThrownBy(() -> OutboxRetention.builder(db.jdbi()).dedupWindow(Duration.ofSeconds(Long.MAX_VALUE)).build())
                .isInstanceOf(InvalidOptionException.class).hasMessageContaining("dedupWindow");
    }

    private static void setState(UUID id, String status, String age) {
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = ?, created_at = now() - ?::interval, "
                + "published_at = CASE WHEN ? = 'PUBLISHED' THEN now() - ?::interval END WHERE id = ?",
                status, age, status, age, id));
    }
}
