package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One outbox in a schema of its own, created by the application with {@code OutboxNames.inSchema("shop")}
 * (its writers use those names), and delivered by a poller that reaches the schema through its
 * connection ({@code currentSchema=shop} in the URL, the one way to point the relay, whose names are
 * {@link OutboxNames#DEFAULT}, at another schema). Both name the same tables; the wake-up lock must
 * be the same too, or a commit in flight while the poller goes idle waits for the poll interval
 * (GUARANTEES section 6: "No commit is left unseen by the race between a poller going to sleep and a commit").
 * Since schema version 4 the lock is the table's own, whatever it is called.
 */
class SchemaFromConnectionWakeupTest {

    private static final Duration POLL_INTERVAL = Duration.ofSeconds(30);

    private static final OutboxNames APPLICATION = OutboxNames.inSchema("shop");

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    @BeforeAll
    static void create_the_schema() throws Exception {
        try (Connection connection = db.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(OutboxSchema.sql(APPLICATION));
        }
    }

    @Test
    void a_commit_in_flight_while_a_poller_of_the_connections_schema_goes_idle_is_delivered_without_waiting_for_the_poll_interval() {
        RecordingPublisher publisher = new RecordingPublisher();
        try (HikariDataSource relayPool = db.newPool(4, config -> config.setSchema("shop"));
             Handle writer = db.jdbi().open();
             OutboxPoller poller = OutboxPoller.builder(Jdbi.create(relayPool), publisher)
                     .names(OutboxNames.DEFAULT).pollInterval(POLL_INTERVAL).build()) {
            writer.begin();
            UUID id = OutboxWriter.create(APPLICATION).write(writer, Outbox.message("in-flight", 0)); // nobody waiting yet
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> poller.stats().polls() >= 3);
            long announcedWhileTheWriterWasOpen = poller.waitAnnouncement().announcements();

            writer.commit();
            long committed = System.nanoTime();
            await().alias("the message committed while the poller went idle is delivered well within the "
                            + POLL_INTERVAL.toSeconds() + " s poll interval (the poller announced that it waits "
                            + announcedWhileTheWriterWasOpen + " time(s) while the writer held shop.outbox's wake-up lock; "
                            + "0 expected)")
                    .atMost(Duration.ofSeconds(5)).until(() -> publisher.delivered(id));
            assertThat(Duration.ofNanos(System.nanoTime() - committed)).isLessThan(POLL_INTERVAL.dividedBy(10));
        }
    }

    @Test
    void a_commit_in_flight_holds_off_a_poller_of_an_earlier_release_that_spells_the_table_as_the_migrating_process_did_and_only_that_spelling() {
        try (Handle writer = db.jdbi().open(); Handle earlierPoller = db.jdbi().open()) {
            writer.begin();
            OutboxWriter.create(APPLICATION).write(writer, Outbox.message("in-flight", 0));
            // The key a poller before version 4 tried to take exclusively: the text of its names' table.
            assertThat(tryTextKey(earlierPoller, "outboxkit wakeup \"shop\".\"outbox\""))
                    .as("announced past a writer in flight, spelling the table as the migrating process did").isFalse();
            // The unqualified spelling is also public.outbox's: held, it would hold off that outbox's pollers.
            assertThat(tryTextKey(earlierPoller, "outboxkit wakeup \"outbox\""))
                    .as("the key of the other spelling, every schema's table called outbox, is free").isTrue();
            writer.rollback();
        }
    }

    private static boolean tryTextKey(Handle handle, String key) {
        return handle.createQuery("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))").bind("key", key)
                .mapTo(Boolean.class).one();
    }
}
