package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.internal.OutboxSql;
import io.outboxkit.core.internal.WaitAnnouncement;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.ThreadPerTask;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.transaction.TransactionIsolationLevel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * Schema version 3: a commit to the outbox sends a NOTIFY only while a poller has announced that
 * it waits; a waiting poller is still woken at once, and no commit waits for the poll interval,
 * however commits and announcements interleave.
 */
class NotifyOnlyWhileWaitingTest {

    /** Far longer than any test waits: a delivery within it came from a NOTIFY or a claim of a poller awake. */
    private static final Duration POLL_INTERVAL = Duration.ofSeconds(30);

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    @BeforeEach
    void nobody_waits_and_the_outbox_is_empty() {
        Outbox.clear(db.jdbi());
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox_wakeup SET waiting_until = '-infinity'"));
    }

    @Test
    void a_commit_notifies_only_while_a_poller_has_announced_that_it_waits() throws Exception {
        try (Listener listener = listening(); Handle first = db.jdbi().open(); Handle second = db.jdbi().open()) {
            int unannounced = writeOne(first);
            assertThat(announcement(POLL_INTERVAL).beforeWaiting()).isEqualTo(WaitAnnouncement.Outcome.ANNOUNCED);
            int announced = writeOne(second);
            assertThat(announced).as("two sessions").isNotEqualTo(unannounced);

            // Notifications come in commit order: had the first commit notified, its would come first.
            assertThat(firstNotifications(listener)).extracting(PGNotification::getPID).containsExactly(announced)
                    .doesNotContain(unannounced);
        }
    }

    @Test
    void once_the_announcement_lapses_commits_stop_notifying() throws Exception {
        Duration shortInterval = Duration.ofMillis(100);
        try (Listener listener = listening(); Handle first = db.jdbi().open(); Handle second = db.jdbi().open()) {
            assertThat(announcement(shortInterval).beforeWaiting()).isEqualTo(WaitAnnouncement.Outcome.ANNOUNCED);
            await().atMost(Duration.ofSeconds(5)).until(() -> !announcementInForce());
            int afterLapse = writeOne(first);
            assertThat(announcement(POLL_INTERVAL).beforeWaiting()).isEqualTo(WaitAnnouncement.Outcome.ANNOUNCED);
            int renewed = writeOne(second);

            assertThat(firstNotifications(listener)).extracting(PGNotification::getPID).containsExactly(renewed)
                    .doesNotContain(afterLapse);
        }
    }

    @Test
    void a_writer_that_waited_on_the_lock_behind_an_announcement_reads_it_and_notifies() throws Exception {
        try (Listener listener = listening(); Handle poller = db.jdbi().open(); Handle writing = db.jdbi().open()) {
            poller.begin();
            assertThat(poller.createQuery("SELECT pg_try_advisory_xact_lock(hashtextextended(:lock, 0))")
                    .bind("lock", OutboxSql.wakeupLockName(OutboxNames.DEFAULT)).mapTo(Boolean.class).one()).isTrue();
            poller.execute("UPDATE outbox_wakeup SET waiting_until = now() + interval '1 minute'");
            CompletableFuture<Integer> writer = CompletableFuture.supplyAsync(() -> writeOne(writing), ThreadPerTask.INSTANCE);
            await().atMost(Duration.ofSeconds(10)).until(NotifyOnlyWhileWaitingTest::aWriterWaitsForTheWakeupLock);
            poller.commit();

            int writerPid = writer.get(10, TimeUnit.SECONDS);
            assertThat(firstNotifications(listener)).extracting(PGNotification::getPID).containsExactly(writerPid);
        }
    }

    @Test
    void a_writer_in_repeatable_read_notifies_even_with_nobody_waiting() throws Exception {
        try (Listener listener = listening(); Handle writer = db.jdbi().open()) {
            int pid = writer.inTransaction(TransactionIsolationLevel.REPEATABLE_READ, h -> {
                OutboxWriter.create().write(h, Outbox.message("rr", 0));
                return backend(h);
            });
            assertThat(firstNotifications(listener)).extracting(PGNotification::getPID).containsExactly(pid);
        }
    }

    @Test
    void a_poller_draining_full_batches_announces_nothing_and_announces_once_a_claim_finds_nothing() {
        List<UUID> backlog = Outbox.write(db.jdbi(), 500, 1);
        Map<UUID, Long> announcementsAtDelivery = new ConcurrentHashMap<>();
        OutboxPoller[] started = new OutboxPoller[1];
        MessagePublisher publisher = m -> announcementsAtDelivery.put(m.id(), started[0].waitAnnouncement().announcements());
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).batchSize(50).pollInterval(POLL_INTERVAL)
                .build()) {
            started[0] = poller;
            poller.start();
            await().atMost(Duration.ofSeconds(30)).until(() -> announcementsAtDelivery.size() == backlog.size());
            assertThat(announcementsAtDelivery.values()).as("announcements while claims found full batches").containsOnly(0L);

            await().atMost(Duration.ofSeconds(10)).until(() -> poller.waitAnnouncement().announcements() >= 1 && announcementInForce());
        }
    }

    @Test
    void a_commit_in_flight_while_the_poller_goes_idle_is_delivered_without_waiting_for_the_poll_interval() {
        RecordingPublisher publisher = new RecordingPublisher();
        try (Handle writer = db.jdbi().open();
             OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).pollInterval(POLL_INTERVAL).build()) {
            writer.begin();
            UUID id = OutboxWriter.create().write(writer, Outbox.message("in-flight", 0)); // its trigger saw nobody waiting
            poller.start();
            // The open writer holds the wake-up lock: the poller cannot announce, so it keeps looking.
            await().atMost(Duration.ofSeconds(10)).until(() -> poller.stats().polls() >= 5);
            assertThat(poller.waitAnnouncement().announcements()).isZero();

            writer.commit();
            long committed = System.nanoTime();

            await().atMost(Duration.ofSeconds(5)).until(() -> publisher.delivered(id));
            assertThat(Duration.ofNanos(System.nanoTime() - committed)).isLessThan(POLL_INTERVAL.dividedBy(10));
        }
    }

    @Test
    void a_commit_between_the_pollers_last_claim_and_its_announcement_is_found_by_the_look_after_it() {
        RecordingPublisher publisher = new RecordingPublisher();
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).pollInterval(POLL_INTERVAL).build()) {
            poller.start();
            // It looks once, announces, looks again, and again when the listener starts; then it waits.
            await().atMost(Duration.ofSeconds(10)).until(() -> NotifyWakeupTest.listening(db)
                    && poller.waitAnnouncement().announcements() == 1 && poller.stats().polls() >= 3);
            AtomicReference<UUID> committed = new AtomicReference<>();
            poller.waitAnnouncement().beforeAnnouncing(() -> {
                if (committed.get() == null) { // nobody has announced: this commit notifies no one
                    committed.set(db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("gap", 0))));
                }
            });
            // As after a long busy spell: the announcement lapsed, and a manual NOTIFY wakes the poller to find nothing.
            db.jdbi().useHandle(h -> h.execute("UPDATE outbox_wakeup SET waiting_until = '-infinity'"));
            poller.waitAnnouncement().lapse();
            db.jdbi().useHandle(h -> h.execute("NOTIFY \"outbox\""));
            await().atMost(Duration.ofSeconds(10)).until(() -> committed.get() != null);
            long written = System.nanoTime();

            await().atMost(Duration.ofSeconds(5)).until(() -> publisher.delivered(committed.get()));
            assertThat(Duration.ofNanos(System.nanoTime() - written)).isLessThan(POLL_INTERVAL.dividedBy(10));
            assertThat(poller.waitAnnouncement().announcements()).isEqualTo(2);
        }
    }

    @Test
    void while_commits_come_close_behind_each_other_the_poller_looks_on_its_own_and_most_commits_do_not_notify()
            throws Exception {
        int commits = 400;
        RecordingPublisher publisher = new RecordingPublisher();
        List<UUID> written = new ArrayList<>();
        try (Listener listener = listening(); Handle writer = db.jdbi().open();
             OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).pollInterval(POLL_INTERVAL).build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> NotifyWakeupTest.listening(db)
                    && poller.waitAnnouncement().announcements() >= 1 && announcementInForce());
            // The stream must come faster than a quick wake-up whatever the disk: a commit that waits
            // for its WAL flush can take longer than that on slow storage, and then each rightly notifies.
            writer.execute("SET synchronous_commit = off");
            // Commits close behind each other until the poller, woken quickly by them several times in
            // a row, withdraws its announcement; how many that takes depends on the machine's pace.
            long streamStart = System.nanoTime();
            long deadline = streamStart + Duration.ofSeconds(10).toNanos();
            while (poller.waitAnnouncement().withdrawals() == 0 && System.nanoTime() < deadline) {
                written.add(writeOne(writer, "stream-" + written.size()));
            }
            int beforeWithdrawal = written.size();
            assertThat(poller.waitAnnouncement().withdrawals())
                    .as("withdrawals of the announcement within 10 s of a stream of %d commits", beforeWithdrawal)
                    .isPositive();
            // Then as many again: commits that do not notify, the poller finding them on its own.
            for (int i = 0; i < commits; i++) {
                written.add(writeOne(writer, "stream-" + written.size()));
            }
            long streamEnd = System.nanoTime();
            // Far less than the poll interval: no commit waited for it.
            await().atMost(Duration.ofSeconds(10)).until(() -> written.stream().allMatch(publisher::delivered));

            int notified = notificationsReceived(listener);
            String what = beforeWithdrawal + " commits before the withdrawal, " + commits + " after, in "
                    + Duration.ofNanos(streamEnd - streamStart).toMillis() + " ms; " + notified
                    + " notified; announcements " + poller.waitAnnouncement().announcements() + ", withdrawals "
                    + poller.waitAnnouncement().withdrawals() + ", claims " + poller.stats().polls();
            // Waiting for notifications throughout, every one of them would notify.
            assertThat(notified - beforeWithdrawal).as("commits after the withdrawal that notified, at most; " + what)
                    .isLessThan(commits * 3 / 4);

            // Idle again, it waits for notifications: a lone commit is delivered at once.
            await().atMost(Duration.ofSeconds(10)).until(NotifyOnlyWhileWaitingTest::announcementInForce);
            UUID lone = writeOne(writer, "lone");
            long committed = System.nanoTime();
            await().atMost(Duration.ofSeconds(5)).until(() -> publisher.delivered(lone));
            assertThat(Duration.ofNanos(System.nanoTime() - committed)).isLessThan(POLL_INTERVAL.dividedBy(10));
        }
    }

    private static UUID writeOne(Handle writer, String aggregateId) {
        return writer.inTransaction(h -> OutboxWriter.create().write(h, Outbox.message(aggregateId, 0)));
    }

    @Test
    void on_a_schema_before_version_3_a_poller_waits_without_announcing_and_every_commit_wakes_it() throws Exception {
        OutboxNames beforeV3 = OutboxNames.inSchema("before_v3").withChannel("before_v3");
        try (Connection connection = db.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            for (OutboxSchema.Script script : OutboxSchema.scripts(beforeV3).subList(0, 2)) {
                statement.execute(script.sql());
            }
        }
        RecordingPublisher publisher = new RecordingPublisher();
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).names(beforeV3).pollInterval(POLL_INTERVAL)
                .build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> poller.stats().polls() >= 2);
            for (int i = 0; i < 3; i++) {
                UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create(beforeV3).write(h, Outbox.message("old", 0)));
                long written = System.nanoTime();
                await().atMost(Duration.ofSeconds(5)).until(() -> publisher.delivered(id));
                assertThat(Duration.ofNanos(System.nanoTime() - written)).isLessThan(POLL_INTERVAL.dividedBy(10));
            }
            assertThat(poller.stats().errors()).isZero();
            assertThat(poller.waitAnnouncement().announcements()).isZero();
        }
    }

    @Test
    void on_a_schema_at_version_3_and_once_it_is_migrated_to_version_4_a_writer_in_flight_holds_off_the_announcement() throws Exception {
        OutboxNames atV3 = OutboxNames.inSchema("at_v3").withChannel("at_v3");
        List<OutboxSchema.Script> scripts = OutboxSchema.scripts(atV3);
        execute(scripts.subList(0, 3));
        WaitAnnouncement announcement = new WaitAnnouncement(db.jdbi(), atV3, POLL_INTERVAL, "test");
        // Version 3's trigger takes only the key named after the table's text, version 4's the table's own too.
        for (List<OutboxSchema.Script> migration : List.of(List.<OutboxSchema.Script>of(), scripts.subList(3, 4))) {
            execute(migration);
            try (Handle writer = db.jdbi().open()) {
                writer.begin();
                OutboxWriter.create(atV3).write(writer, Outbox.message("in-flight", 0));
                WaitAnnouncement.Outcome whileWriting = announcement.beforeWaiting();
                writer.rollback();
                assertThat(whileWriting).as("announced past a writer in flight at version " + (3 + migration.size()))
                        .isEqualTo(WaitAnnouncement.Outcome.WRITER_BUSY);
            }
            assertThat(announcement.beforeWaiting()).isEqualTo(WaitAnnouncement.Outcome.ANNOUNCED);
            announcement.lapse();
        }
    }

    /**
     * Until every poller runs a release with schema version 4, the trigger must take version 3's
     * lock as version 3 named it: the name earlier pollers announce on. Version 5 applied by a
     * process that spells the outbox otherwise (qualified, where version 3 came through the
     * connection's schema) keeps that name rather than writing its own.
     */
    @Test
    void version_5_applied_by_a_process_spelling_the_outbox_otherwise_keeps_the_lock_name_version_3_wrote() throws Exception {
        OutboxNames qualified = OutboxNames.inSchema("mixed_spelling").withChannel("mixed_spelling");
        OutboxNames throughConnection = OutboxNames.DEFAULT.withChannel("mixed_spelling");
        try (Connection connection = db.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("CREATE SCHEMA mixed_spelling; SET search_path TO mixed_spelling");
            for (OutboxSchema.Script script : OutboxSchema.scripts(throughConnection).subList(0, 4)) {
                statement.execute(script.sql());
            }
            statement.execute("RESET search_path");
        }
        execute(OutboxSchema.scripts(qualified).subList(4, 5));

        try (Handle writer = db.jdbi().open(); Handle earlierPoller = db.jdbi().open()) {
            writer.begin();
            OutboxWriter.create(qualified).write(writer, Outbox.message("in-flight", 0));
            boolean announced = earlierPoller.createQuery("SELECT pg_try_advisory_lock(hashtextextended(:name, 0))")
                    .bind("name", OutboxSql.wakeupLockName(throughConnection)).mapTo(Boolean.class).one();
            writer.rollback();
            assertThat(announced).as("an earlier poller spelling the outbox as version 3 did announced past a writer in flight")
                    .isFalse();
        }
    }

    private static void execute(List<OutboxSchema.Script> scripts) throws Exception {
        try (Connection connection = db.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            for (OutboxSchema.Script script : scripts) {
                statement.execute(script.sql());
            }
        }
    }

    /**
     * Each round starts a poller with nobody announced, so that its first announcement races with
     * commits in flight (the one moment a commit might go unnotified and unseen); a commit it
     * missed would wait for the 30-second poll interval.
     */
    @ParameterizedTest(name = "{0} worker(s)")
    @ValueSource(ints = {1, 3})
    void concurrent_writers_while_a_poller_goes_idle_and_announces_it_never_wait_for_the_poll_interval(int workers)
            throws Exception {
        int rounds = 10;
        int writers = 6;
        int perWriter = 20;
        Map<UUID, Long> committedAt = new ConcurrentHashMap<>();
        Map<UUID, Long> deliveredAt = new ConcurrentHashMap<>();
        MessagePublisher publisher = m -> deliveredAt.putIfAbsent(m.id(), System.nanoTime());
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        long announcements = 0;
        try {
            for (int round = 0; round < rounds; round++) {
                db.jdbi().useHandle(h -> h.execute("UPDATE outbox_wakeup SET waiting_until = '-infinity'"));
                try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).workers(workers)
                        .pollInterval(POLL_INTERVAL).build()) {
                    poller.start();
                    List<Future<?>> done = new ArrayList<>();
                    for (int w = 0; w < writers; w++) {
                        String aggregate = "round-" + round + "-writer-" + w;
                        done.add(pool.submit(() -> {
                            for (int n = 0; n < perWriter; n++) {
                                int number = n;
                                UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h,
                                        Outbox.message(aggregate, number)));
                                committedAt.put(id, System.nanoTime());
                                pace();
                            }
                            return null;
                        }));
                    }
                    for (Future<?> writer : done) {
                        writer.get(60, TimeUnit.SECONDS);
                    }
                    await().atMost(Duration.ofSeconds(10)).until(() -> deliveredAt.keySet().containsAll(committedAt.keySet()));
                    announcements += poller.waitAnnouncement().announcements();
                }
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(committedAt).hasSize(rounds * writers * perWriter);
        long slowest = committedAt.entrySet().stream()
                .mapToLong(e -> Math.max(0, deliveredAt.get(e.getKey()) - e.getValue())).max().orElseThrow();
        assertThat(Duration.ofNanos(slowest)).as("the longest a commit waited for its delivery").isLessThan(Duration.ofSeconds(3));
        assertThat(announcements).as("the rounds' pollers went idle and announced it").isGreaterThanOrEqualTo(rounds / 2);
    }

    /** Gaps between a writer's commits, up to a few ms, so the poller finds nothing now and then and goes idle. */
    private static void pace() {
        try {
            Thread.sleep(ThreadLocalRandom.current().nextInt(0, 6)); // a load pattern, not synchronization
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static WaitAnnouncement announcement(Duration pollInterval) {
        return new WaitAnnouncement(db.jdbi(), OutboxNames.DEFAULT, pollInterval, "test");
    }

    private static boolean announcementInForce() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT waiting_until > now() FROM outbox_wakeup")
                .mapTo(Boolean.class).one());
    }

    private static boolean aWriterWaitsForTheWakeupLock() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) > 0 FROM pg_locks "
                + "WHERE locktype = 'advisory' AND mode = 'ShareLock' AND NOT granted").mapTo(Boolean.class).one());
    }

    /** Writes one message in a transaction of its own on {@code handle}; returns its session's backend pid. */
    private static int writeOne(Handle handle) {
        return handle.inTransaction(h -> {
            OutboxWriter.create().write(h, Outbox.message("a-" + UUID.randomUUID(), 0));
            return backend(h);
        });
    }

    private static int backend(Handle h) {
        return h.createQuery("SELECT pg_backend_pid()").mapTo(Integer.class).one();
    }

    private static Listener listening() throws Exception {
        Connection connection = db.dataSource().getConnection();
        try (Statement statement = connection.createStatement()) {
            statement.execute("LISTEN \"outbox\"");
        }
        // A pooled connection may have listened before (a poller's): drop what it received then.
        connection.unwrap(PGConnection.class).getNotifications();
        return new Listener(connection);
    }

    /** A pooled connection listening on the outbox's channel; closed, it stops listening before going back to the pool. */
    private record Listener(Connection connection) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            try (connection; Statement statement = connection.createStatement()) {
                statement.execute("UNLISTEN *");
            }
        }
    }

    /** How many notifications the listener has received by now. */
    private static int notificationsReceived(Listener listener) throws Exception {
        PGConnection connection = listener.connection().unwrap(PGConnection.class);
        int received = 0;
        for (PGNotification[] batch = connection.getNotifications(200); batch != null && batch.length > 0;
             batch = connection.getNotifications(200)) {
            received += batch.length;
        }
        return received;
    }

    /** The first notifications to arrive (waiting up to 10 s for one). */
    private static List<PGNotification> firstNotifications(Listener listener) throws Exception {
        PGNotification[] received = listener.connection().unwrap(PGConnection.class).getNotifications(10_000);
        return received == null ? List.of() : List.of(received);
    }
}
