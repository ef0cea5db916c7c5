package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The figures an operator watches, read cheaply and cached. */
class OutboxMonitorTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @Test
    void pending_and_dead_are_counted_and_published_is_estimated_from_the_tables_statistics() throws Exception {
        // An outbox of its own: the server's statistics of a table emptied by other tests may lag behind.
        OutboxNames names = OutboxNames.DEFAULT.withOutboxTable("monitored_outbox").withProcessedTable("monitored_processed")
                .withChannel("monitored");
        try (Connection connection = db.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(OutboxSchema.sql(names));
        }
        OutboxWriter writer = OutboxWriter.create(names);
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            String aggregate = "agg-" + i;
            ids.add(db.jdbi().inTransaction(h -> writer.write(h, Outbox.message(aggregate, 0))));
        }
        OutboxPoller.builder(db.jdbi(), new RecordingPublisher()).names(names).batchSize(3).build().pollOnce();
        db.jdbi().useHandle(h -> h.execute("UPDATE monitored_outbox SET status = 'DEAD' WHERE id = ?", ids.get(5)));
        OutboxMonitor monitor = OutboxMonitor.create(db.jdbi(), names, Duration.ZERO);

        OutboxSnapshot snapshot = monitor.snapshot();
        assertThat(snapshot.pending()).isEqualTo(2);
        assertThat(snapshot.dead()).isEqualTo(1);
        // The statistics reach the server's counters when the writing sessions report them: soon, not at once.
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(monitor.snapshot().publishedEstimate()).isEqualTo(3));
    }

    @Test
    void the_oldest_pending_age_is_how_long_the_oldest_waiting_message_has_waited_since_its_write() {
        List<UUID> ids = Outbox.write(db.jdbi(), 2, 1);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET created_at = now() - interval '10 seconds' WHERE id = ?",
                ids.get(0)));
        OutboxMonitor monitor = OutboxMonitor.create(db.jdbi(), OutboxNames.DEFAULT, Duration.ZERO);

        assertThat(monitor.snapshot().oldestPendingAgeSeconds()).isBetween(9.9, 12.0);
        assertThat(monitor.snapshot().oldestPendingId()).as("the oldest, to link to").isEqualTo(ids.get(0));

        OutboxPoller.builder(db.jdbi(), new RecordingPublisher()).build().pollOnce();
        assertThat(monitor.snapshot().oldestPendingAge()).as("nothing pending").isZero();
        assertThat(monitor.snapshot().oldestPendingId()).isNull();
    }

    @Test
    void a_message_waiting_for_a_retry_counts_as_late_but_one_written_for_later_does_not() {
        List<UUID> ids = Outbox.write(db.jdbi(), 2, 1);
        db.jdbi().useHandle(h -> {
            h.execute("UPDATE outbox SET created_at = now() - interval '20 seconds', attempts = 1, "
                    + "available_at = now() + interval '1 minute' WHERE id = ?", ids.get(0));
            h.execute("UPDATE outbox SET created_at = now() - interval '40 seconds', attempts = 0, "
                    + "available_at = now() + interval '1 minute' WHERE id = ?", ids.get(1));
        });
        OutboxMonitor monitor = OutboxMonitor.create(db.jdbi(), OutboxNames.DEFAULT, Duration.ZERO);

        assertThat(monitor.snapshot().oldestPendingAgeSeconds()).isBetween(19.9, 22.0);
        assertThat(monitor.snapshot().pending()).isEqualTo(2);
    }

    @Test
    void a_snapshot_is_reused_for_its_max_age_however_often_it_is_asked_for() {
        OutboxMonitor monitor = OutboxMonitor.create(db.jdbi(), OutboxNames.DEFAULT, Duration.ofMinutes(10));
        OutboxSnapshot first = monitor.snapshot();
        Outbox.write(db.jdbi(), 1, 1);

        for (int i = 0; i < 100; i++) {
            assertThat(monitor.snapshot()).isSameAs(first);
        }
        assertThat(OutboxMonitor.create(db.jdbi(), OutboxNames.DEFAULT, Duration.ZERO).snapshot().pending()).isEqualTo(1);
    }

    @Test
    void a_costly_reading_is_reused_fifty_times_as_long_as_its_statement_took_up_to_a_minute() {
        Duration second = Duration.ofSeconds(1);
        assertThat(OutboxMonitor.reuseNanos(second, Duration.ofMillis(5).toNanos())).isEqualTo(second.toNanos());
        assertThat(OutboxMonitor.reuseNanos(second, Duration.ofMillis(60).toNanos())).isEqualTo(Duration.ofSeconds(3).toNanos());
        assertThat(OutboxMonitor.reuseNanos(second, Duration.ofSeconds(5).toNanos())).isEqualTo(Duration.ofMinutes(1).toNanos());
        assertThat(OutboxMonitor.reuseNanos(Duration.ofMinutes(10), Duration.ofSeconds(5).toNanos()))
                .isEqualTo(Duration.ofMinutes(10).toNanos());
        assertThat(OutboxMonitor.reuseNanos(Duration.ZERO, Duration.ofSeconds(5).toNanos())).as("0: read at every call").isZero();
    }

    @Test
    void a_large_backlog_is_not_counted_again_at_once_even_when_max_age_has_passed() {
        db.jdbi().useHandle(h -> h.execute("INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload) "
                + "SELECT gen_random_uuid(), 'Order', 'o-' || n, 'OrderCreated', '{}' FROM generate_series(1, 50000) AS n"));
        OutboxMonitor monitor = OutboxMonitor.create(db.jdbi(), OutboxNames.DEFAULT, Duration.ofNanos(1));

        OutboxSnapshot first = monitor.snapshot();
        assertThat(first.pending()).isEqualTo(50_000);
        assertThat(monitor.snapshot()).as("counting 50,000 rows takes milliseconds: reused 50 times as long")
                .isSameAs(first);
    }

    @Test
    void an_unreadable_outbox_fails_each_call_with_what_was_attempted() {
        OutboxMonitor monitor = OutboxMonitor.create(db.jdbi(), OutboxNames.DEFAULT.withOutboxTable("missing"), Duration.ofMinutes(1));
        assertThatThrownBy(monitor::snapshot).isInstanceOf(OutboxException.class)
                .hasMessageContaining("could not read the outbox's figures").hasMessageContaining("missing");
        assertThatThrownBy(monitor::snapshot).as("the failure is cached too").isInstanceOf(OutboxException.class);
        assertThatThrownBy(() -> OutboxMonitor.create(db.jdbi(), OutboxNames.DEFAULT, Duration.ofSeconds(-1)))
                .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("maxAge"))
                .hasMessageContaining("maxAge must be 0 to 1 hour");
    }

    @Test
    void a_reading_that_got_no_connection_is_reused_only_for_max_age_so_the_figures_return_with_the_database()
            throws Exception {
        try (HikariDataSource pool = db.newPool(1)) {
            pool.setConnectionTimeout(500);
            OutboxMonitor monitor = OutboxMonitor.create(Jdbi.create(pool), OutboxNames.DEFAULT, Duration.ofMillis(200));
            try (Connection held = pool.getConnection()) {
                assertThatThrownBy(monitor::snapshot).as("the pool is exhausted for 500 ms").isInstanceOf(OutboxException.class);
            }
            // Had the pool's wait counted as the statement's cost, the failure would stand for 25 s.
            await().atMost(Duration.ofSeconds(5)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(monitor.snapshot().pending()).isZero());
        }
    }

    @Test
    void the_counts_read_only_the_pending_and_dead_indexes_never_the_delivered_rows() {
        db.jdbi().useHandle(h -> h.execute("INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, "
                + "status, published_at) SELECT gen_random_uuid(), 'Order', 'o-' || n, 'OrderCreated', '{}', 'PUBLISHED', "
                + "now() FROM generate_series(1, 20000) AS n; ANALYZE outbox"));
        String plan = db.jdbi().withHandle(h -> String.join("\n", h.createQuery("EXPLAIN SELECT "
                        + "(SELECT count(*) FROM outbox WHERE status = 'PENDING'), (SELECT count(*) FROM outbox WHERE status = 'DEAD')")
                .mapTo(String.class).list()));
        assertThat(plan).contains("outbox_pending_seq").contains("outbox_dead_seq").doesNotContain("Seq Scan");
    }
}
