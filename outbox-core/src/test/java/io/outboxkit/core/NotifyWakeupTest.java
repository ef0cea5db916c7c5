package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A started poller wakes on the outbox's NOTIFY, not on its poll interval; and it claims again
 * without one only when its last cycle may have left messages due: a full batch, or a delivered
 * message that held back a later one of its aggregate (nothing notifies when that one becomes due).
 */
class NotifyWakeupTest {

    /** Far longer than any test waits: a delivery within it came from a NOTIFY or a claim right after a cycle. */
    private static final Duration POLL_INTERVAL = Duration.ofSeconds(60);

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    @BeforeEach
    void empty() {
        Outbox.clear(db.jdbi());
    }

    @Test
    void a_message_written_while_the_poller_idles_is_delivered_well_before_the_poll_interval() {
        RecordingPublisher publisher = new RecordingPublisher();
        Duration pollInterval = Duration.ofSeconds(60);
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).pollInterval(pollInterval).build()) {
            poller.start();
            // Once it listens and has looked once (finding nothing), only a NOTIFY can wake it before 60 s.
            await().atMost(Duration.ofSeconds(10)).until(() -> listening() && poller.stats().polls() >= 1);
            UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
            long written = System.nanoTime();
            await().atMost(Duration.ofSeconds(5)).until(() -> publisher.delivered(id));
            assertThat(Duration.ofNanos(System.nanoTime() - written)).isLessThan(pollInterval.dividedBy(10));
        }
    }

    @Test
    void a_closed_poller_gives_its_listening_connection_back_to_the_pool_no_longer_listening() throws Exception {
        try (HikariDataSource pool = db.newPool(2)) {
            OutboxPoller poller = OutboxPoller.builder(Jdbi.create(pool), new RecordingPublisher()).build();
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(NotifyWakeupTest::listening);

            poller.close();

            // Both of the pool's connections, the listener's among them: a pooled connection left
            // listening would queue every later notification for whoever borrows it.
            List<String> channels = new ArrayList<>();
            try (Connection a = pool.getConnection(); Connection b = pool.getConnection()) {
                for (Connection c : List.of(a, b)) {
                    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_listening_channels()")) {
                        while (rs.next()) {
                            channels.add(rs.getString(1));
                        }
                    }
                }
            }
            assertThat(channels).isEmpty();
        }
    }

    private static boolean listening() {
        return listening(db);
    }

    /** Whether a poller's listener is listening on the default channel of {@code db}. */
    static boolean listening(PostgresExtension db) {
        return db.jdbi().withHandle(h -> h.createQuery(
                "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN \"outbox\"'")
                .mapTo(Boolean.class).one());
    }

    @ParameterizedTest
    @EnumSource(ClaimMode.class)
    void a_message_held_back_by_its_aggregate_is_claimed_as_soon_as_the_earlier_one_is_delivered(ClaimMode mode)
            throws Exception {
        CountDownLatch firstInFlight = new CountDownLatch(1);
        CountDownLatch releaseFirst = new CountDownLatch(1);
        RecordingPublisher recorder = new RecordingPublisher();
        MessagePublisher publisher = message -> {
            if (message.eventType().equals("Event0")) {
                firstInFlight.countDown();
                if (!releaseFirst.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the test never released the first message");
                }
            }
            recorder.publish(message);
        };
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).claimMode(mode).workers(2)
                .pollInterval(POLL_INTERVAL).build()) {
            poller.start();
            // Each worker looks once, and one looks again when the listener starts: then both wait.
            await().atMost(Duration.ofSeconds(10)).until(() -> listening() && poller.stats().polls() >= 3);
            db.jdbi().useTransaction(h -> OutboxWriter.create().write(h, Outbox.message("order-1", 0)));
            assertThat(firstInFlight.await(10, TimeUnit.SECONDS)).as("the first message is being delivered").isTrue();
            long pollsBefore = poller.stats().polls();
            UUID second = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("order-1", 1)));
            // Its NOTIFY wakes the idle worker, whose claim finds it held back behind the first.
            await().atMost(Duration.ofSeconds(10)).until(() -> poller.stats().polls() > pollsBefore);
            assertThat(recorder.delivered(second)).isFalse();

            releaseFirst.countDown();

            await().atMost(Duration.ofSeconds(10)).until(() -> recorder.delivered(second));
            assertThat(recorder.sequencesOf("order-1")).hasSize(2).isSorted();
        }
    }

    @Test
    void a_message_on_a_quiet_outbox_costs_one_claim_not_a_second_empty_one() {
        RecordingPublisher publisher = new RecordingPublisher();
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).pollInterval(POLL_INTERVAL).build()) {
            poller.start();
            // It looks once, and again when the listener starts; then it waits, with no wake-up pending.
            await().atMost(Duration.ofSeconds(10)).until(() -> listening() && poller.stats().polls() >= 2);
            deliverOne(poller, "first", 1);
            long polls = poller.stats().polls();

            deliverOne(poller, "second", 2);
            deliverOne(poller, "third", 3);

            assertThat(poller.stats().polls()).as("claims for two messages written one after the other").isEqualTo(polls + 2);
        }
    }

    @Test
    void a_closed_poller_started_again_listens_and_delivers_as_before() {
        RecordingPublisher publisher = new RecordingPublisher();
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).pollInterval(POLL_INTERVAL).build()) {
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(NotifyWakeupTest::listening);
            deliverOne(poller, "before", 1);

            poller.close();
            assertThat(poller.isRunning()).isFalse();
            poller.start();

            assertThat(poller.isRunning()).isTrue();
            await().atMost(Duration.ofSeconds(10)).until(NotifyWakeupTest::listening);
            deliverOne(poller, "after", 2); // well within the 60 s poll interval: woken by its NOTIFY
            assertThatThrownBy(poller::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("already started");
        }
    }

    /** Writes one message and waits until the poller has recorded it delivered ({@code total} so far). */
    private static void deliverOne(OutboxPoller poller, String aggregate, long total) {
        db.jdbi().useTransaction(h -> OutboxWriter.create().write(h, Outbox.message(aggregate, 0)));
        await().atMost(Duration.ofSeconds(10)).until(() -> poller.stats().delivered() == total);
    }
}
