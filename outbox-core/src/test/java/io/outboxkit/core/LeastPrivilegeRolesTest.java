package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Each process connecting as a role of its own with only the grants it needs, the tables owned by
 * the role that migrated them (here the test's superuser): the producer, the relay (its poller in
 * both claim modes, admin, monitor and retention) and the consumer, each with the grants README's
 * "Roles and grants" lists for it, and no more; and retention given less than it needs.
 */
class LeastPrivilegeRolesTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    private static final String ROLE = "outbox_component_role";

    private final List<HikariDataSource> pools = new ArrayList<>();

    @BeforeEach
    void aFreshRole() {
        Outbox.clear(db.jdbi());
        db.createLoginRole(ROLE);
    }

    @AfterEach
    void dropTheRole() {
        pools.forEach(HikariDataSource::close);
        db.jdbi().useHandle(h -> {
            h.execute("REASSIGN OWNED BY " + ROLE + " TO current_user"); // a table handed over by a test
            h.execute("DROP OWNED BY " + ROLE);
            h.execute("DROP ROLE " + ROLE);
        });
    }

    @AfterAll
    static void noRoleLeft() {
        db.jdbi().useHandle(h -> h.execute("DROP ROLE IF EXISTS " + ROLE));
    }

    /** The role, granted {@code grants} (each "PRIVILEGES ON object"). */
    private Jdbi as(String... grants) {
        db.jdbi().useHandle(h -> {
            for (String grant : grants) {
                h.execute("GRANT " + grant + " TO " + ROLE);
            }
        });
        HikariDataSource pool = db.newPoolAs(ROLE, 4);
        pools.add(pool);
        return Jdbi.create(pool);
    }

    private static void publishedLongAgo(List<UUID> ids) {
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'PUBLISHED', created_at = now() - interval '2 days', "
                + "published_at = now() - interval '2 days' WHERE id = ANY(?)", (Object) ids.toArray(UUID[]::new)));
    }

    @Test
    void the_producer_writes_with_insert_on_the_outbox_and_select_on_its_wakeup_table() {
        Jdbi producer = as("INSERT ON outbox", "SELECT ON outbox_wakeup");
        UUID id = producer.inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("a", 1)));
        assertThat(Outbox.count(db.jdbi(), "PENDING")).isEqualTo(1);
        assertThat(id).isNotNull();
    }

    @Test
    void a_leasing_poller_delivers_and_is_woken_with_select_update_on_the_outbox_and_its_wakeup_table() {
        pollerDeliversAndIsWoken(ClaimMode.LEASE);
    }

    @Test
    void a_locking_poller_delivers_and_is_woken_with_select_update_on_the_outbox_and_its_wakeup_table() {
        pollerDeliversAndIsWoken(ClaimMode.LOCK);
    }

    private void pollerDeliversAndIsWoken(ClaimMode mode) {
        pollerDeliversAndIsWoken(mode, "SELECT, INSERT, UPDATE ON outbox_wakeup");
    }

    private void pollerDeliversAndIsWoken(ClaimMode mode, String wakeupGrant) {
        Jdbi relay = as("SELECT, UPDATE ON outbox", wakeupGrant);
        RecordingPublisher publisher = new RecordingPublisher();
        UUID first = Outbox.write(db.jdbi(), 1, 1).get(0);
        try (OutboxPoller poller = OutboxPoller.builder(relay, publisher).claimMode(mode)
                .pollInterval(Duration.ofMinutes(1)).build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> publisher.delivered(first));
            // Idle now, waiting for a notification: a commit must wake it long before the poll interval.
            await("the idle poller announced that it waits").atMost(Duration.ofSeconds(10)).until(() -> db.jdbi().withHandle(h -> h.createQuery(
                    "SELECT waiting_until > now() FROM outbox_wakeup").mapTo(Boolean.class).one()));
            UUID second = Outbox.write(db.jdbi(), 1, 1).get(0);
            await("a commit wakes the idle poller").atMost(Duration.ofSeconds(10)).until(() -> publisher.delivered(second));
            await().atMost(Duration.ofSeconds(10)).until(() -> Outbox.count(db.jdbi(), "PUBLISHED") == 2);
        }
    }

    @Test
    void the_admin_lists_and_requeues_with_select_update_on_the_outbox() {
        List<UUID> ids = Outbox.write(db.jdbi(), 3, 1);
        publishedLongAgo(ids);
        OutboxAdmin admin = OutboxAdmin.create(as("SELECT, UPDATE ON outbox"));
        assertThat(admin.list(MessageStatus.PUBLISHED, 10)).hasSize(3);
        assertThat(admin.requeue(ids.get(0))).isTrue();
        assertThat(admin.requeueSince(Instant.EPOCH)).isEqualTo(3);
        assertThat(admin.requeueDead()).isZero();
        assertThat(admin.counts()).isNotNull();
        assertThat(admin.leaseHolders()).isEmpty();
        assertThat(Outbox.count(db.jdbi(), "PENDING")).isEqualTo(3);
    }

    @Test
    void the_monitor_reads_its_figures_with_select_on_the_outbox() {
        Outbox.write(db.jdbi(), 2, 1);
        OutboxSnapshot snapshot = OutboxMonitor.create(as("SELECT ON outbox"), OutboxNames.DEFAULT, Duration.ZERO).snapshot();
        assertThat(snapshot.pending()).isEqualTo(2);
    }

    @Test
    void the_consumer_records_what_it_processed_with_select_insert_delete_on_processed_messages() {
        Jdbi consumer = as("SELECT, INSERT, DELETE ON processed_messages");
        List<UUID> handled = new CopyOnWriteArrayList<>();
        IdempotentHandler handler = IdempotentHandler.create(consumer, "loyalty", (h, m) -> handled.add(m.id()));
        OutboxMessage message = new OutboxMessage(UUID.randomUUID(), 1, "Order", "o-1", "OrderCreated", "{}",
                Map.of(), Instant.now(), 1);
        handler.handle(message);
        handler.handle(message);
        handler.handleAll(List.of(message));
        assertThat(handled).hasSize(1);
    }

    private static long vacuumCount() {
        return db.jdbi().withHandle(h -> h.createQuery(
                "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'outbox'").mapTo(Long.class).one());
    }

    @Test
    void retention_with_vacuum_as_a_role_that_does_not_own_the_outbox_says_the_vacuum_was_skipped() {
        publishedLongAgo(Outbox.write(db.jdbi(), 50, 1));
        Jdbi relay = as("SELECT, UPDATE, DELETE ON outbox", "SELECT, UPDATE, DELETE ON processed_messages");

        OutboxRetention.Result result = OutboxRetention.builder(relay)
                .publishedRetention(Duration.ofDays(1)).vacuum(true).build().runOnce();

        assertThat(result.publishedMessages()).isEqualTo(50);
        // PostgreSQL only warns that it skipped the table: the run must not pass that off as a VACUUM.
        assertThat(result.vacuumSkipped()).as("the tables whose VACUUM was skipped").containsExactly(OutboxNames.DEFAULT.qualifiedOutboxTable());
    }

    @Test
    void a_relay_role_without_grants_on_processed_messages_still_has_its_outbox_vacuumed_by_retention() {
        // The relay's role owns the outbox (so that it may vacuum it) but, consuming nothing, has no
        // grant on processed_messages: the consumer trims that in its own database.
        publishedLongAgo(Outbox.write(db.jdbi(), 50, 1));
        db.jdbi().useHandle(h -> h.execute("ALTER TABLE outbox OWNER TO " + ROLE));
        Jdbi relay = as();
        long before = vacuumCount();

        assertThatThrownBy(() -> OutboxRetention.builder(relay).publishedRetention(Duration.ofDays(1)).vacuum(true).build().runOnce())
                .as("the records it may not trim: said, with what was done")
                .isInstanceOf(OutboxException.class)
                .hasMessageContaining("processed_messages")
                .hasMessageContaining("50 published outbox message(s) deleted");

        assertThat(Outbox.total(db.jdbi())).as("the published messages were deleted").isZero();
        await("the outbox retention deleted from is vacuumed").atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(vacuumCount()).isGreaterThan(before));
    }

    @Test
    void a_vacuum_the_role_may_not_run_is_reported_even_when_the_role_receives_no_warnings() {
        // client_min_messages = error (quiet logs, some poolers): PostgreSQL would send no WARNING of its skip.
        publishedLongAgo(Outbox.write(db.jdbi(), 50, 1));
        db.jdbi().useHandle(h -> h.execute("ALTER ROLE " + ROLE + " SET client_min_messages = error"));
        Jdbi relay = as("SELECT, UPDATE, DELETE ON outbox", "SELECT, UPDATE, DELETE ON processed_messages");
        long before = vacuumCount();

        OutboxRetention.Result result = OutboxRetention.builder(relay)
                .publishedRetention(Duration.ofDays(1)).vacuum(true).build().runOnce();

        assertThat(result.publishedMessages()).isEqualTo(50);
        assertThat(vacuumCount()).as("nothing vacuumed the outbox").isEqualTo(before);
        assertThat(result.vacuumSkipped()).as("the tables whose VACUUM was skipped")
                .containsExactly(OutboxNames.DEFAULT.qualifiedOutboxTable());
    }

    @Test
    void retention_as_the_owner_of_the_database_vacuums_the_outbox_it_does_not_own() {
        // PostgreSQL lets a database's owner vacuum every table in it except shared catalogs, on every
        // version from 13 to 18 (vacuum_is_permitted_for_relation), MAINTAIN or not: no skip to report.
        publishedLongAgo(Outbox.write(db.jdbi(), 50, 1));
        db.jdbi().useHandle(h -> h.execute("ALTER DATABASE \""
                + h.createQuery("SELECT current_database()").mapTo(String.class).one() + "\" OWNER TO " + ROLE));
        Jdbi relay = as("SELECT, UPDATE, DELETE ON outbox", "SELECT, UPDATE, DELETE ON processed_messages");
        long before = vacuumCount();

        OutboxRetention.Result result = OutboxRetention.builder(relay)
                .publishedRetention(Duration.ofDays(1)).vacuum(true).build().runOnce();

        assertThat(result.publishedMessages()).isEqualTo(50);
        assertThat(result.vacuumSkipped()).as("the tables whose VACUUM was skipped, though PostgreSQL lets the "
                + "database's owner vacuum them").isEmpty();
        await("the outbox retention deleted from is vacuumed").atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(vacuumCount()).isGreaterThan(before));
    }
}
