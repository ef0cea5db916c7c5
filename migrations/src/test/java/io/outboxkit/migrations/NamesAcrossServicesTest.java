package io.outboxkit.migrations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxSchema;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.Statement;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * Audit: outboxes of several services in one database, and a service whose names differ from those
 * its outbox was migrated with. Each test works in a schema of its own.
 */
class NamesAcrossServicesTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 6);

    /**
     * Two services keep two outboxes in one schema (README: "each with its own names"), each giving
     * only its outbox table and channel, so both keep the default processed-messages table, which
     * V1 says several consumers may share (its key is the consumer and the message).
     *
     * <p>Either it migrates (sharing the table), or its start is refused naming the setting to change
     * and the outbox that holds the table.
     *
     * <p>Today the second service's start fails: its version 1 says {@code CREATE TABLE
     * "shared"."processed_messages"} without IF NOT EXISTS (V1__outbox.sql:52), and Flyway reports
     * "relation processed_messages already exists", which names neither the setting nor the other
     * outbox; OutboxNames only checks one outbox's names against each other.
     */
    @Test
    void a_second_outbox_in_a_schema_keeping_the_default_processed_table_migrates_beside_the_first_or_is_refused_naming_the_processed_table() {
        OutboxNames orders = OutboxNames.inSchema("shared").withOutboxTable("orders_outbox").withChannel("orders_outbox");
        OutboxNames billing = OutboxNames.inSchema("shared").withOutboxTable("billing_outbox").withChannel("billing_outbox");
        assertThat(OutboxMigrations.apply(db.dataSource(), orders)).isEqualTo(OutboxSchema.scripts(orders).size());

        Throwable failure = catchThrowable(() -> OutboxMigrations.apply(db.dataSource(), billing));

        if (failure != null) {
            // The other acceptable behaviour: refused before anything is applied, naming the setting to change.
            assertThat(failure.getMessage()).as("the billing service's start, refused").contains("processedTable")
                    .contains("PROCESSED_TABLE").contains(orders.outboxTable());
            boolean nothingCreated = db.jdbi().withHandle(h -> h.createQuery("SELECT to_regclass('shared.billing_outbox') "
                    + "IS NULL AND to_regclass('shared.billing_outbox_schema_history') IS NULL").mapTo(Boolean.class).one());
            assertThat(nothingCreated).as("nothing of the billing outbox created").isTrue();
            return;
        }
        UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create(billing).write(h,
                NewMessage.of("Invoice", "i-1", "InvoiceIssued", "{}")));
        int written = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM shared.billing_outbox WHERE id = :id")
                .bind("id", id).mapTo(Integer.class).one());
        assertThat(written).isEqualTo(1);
    }

    /**
     * A service whose names have no schema migrates into its connection's current schema. A
     * processed-messages table of a later schema of its search_path (another application's, in
     * {@code public} while the current schema is {@code "$user"}) is not its outbox's: its first start
     * creates the outbox and its own processed-messages table in the current schema, not a refusal.
     */
    @Test
    void a_processed_messages_table_of_a_later_schema_on_the_search_path_does_not_refuse_the_first_start() {
        db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA sp_shared; CREATE SCHEMA sp_service; "
                + "CREATE TABLE sp_shared.processed_messages (consumer text, message_id uuid)"));
        try (HikariDataSource service = db.newPool(2,
                config -> config.setConnectionInitSql("SET search_path = sp_service, sp_shared"))) {

            int applied = OutboxMigrations.apply(service, OutboxNames.DEFAULT);

            assertThat(applied).isEqualTo(OutboxSchema.scripts(OutboxNames.DEFAULT).size());
        }
        boolean created = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT to_regclass('sp_service.outbox') IS NOT NULL AND to_regclass('sp_service.processed_messages') IS NOT NULL")
                .mapTo(Boolean.class).one());
        assertThat(created).as("the outbox and its processed table in the current schema").isTrue();
    }

    /**
     * README advises giving each outbox its own channel ({@code withChannel}, the starter's
     * {@code outboxkit.schema.channel}, the relay's {@code OUTBOX_CHANNEL}). A service that does so
     * for an outbox migrated with the default channel must either be woken on its channel (its
     * trigger notifies on it) or be refused with a message naming the channel.
     *
     * <p>Today it is refused with Flyway's "Migration checksum mismatch for migration version 1",
     * which names no channel and advises "run repair": version 1, 3, 4 and 5 have the channel
     * written in ({@code pg_notify('${channel}', '')}, V1__outbox.sql:41) and their checksum is the
     * filled-in text's (ScriptMigration.checksum). After such a repair the trigger still notifies
     * on the old channel and the service's pollers, listening on the new one, are never woken.
     */
    @Test
    void a_service_given_another_channel_than_its_outbox_was_migrated_with_is_woken_on_it_or_told_the_channel() throws Exception {
        OutboxNames before = OutboxNames.inSchema("rechannel");
        OutboxNames after = before.withChannel("rechannel_outbox");
        OutboxMigrations.apply(db.dataSource(), before);

        Throwable failure = catchThrowable(() -> OutboxMigrations.apply(db.dataSource(), after));

        assertWokenOnItsChannelOrTold(after, before.channel(), failure);
    }

    /**
     * As above, for an outbox installed from {@link OutboxSchema}'s printed SQL (another migration
     * tool), which {@code OutboxMigrations} leaves as it is when current.
     *
     * <p>Today the start succeeds silently (OutboxMigrations.migrate returns 0 when
     * installedWithoutHistory() is the latest version, without looking at the trigger's channel),
     * and the trigger goes on notifying on {@code outbox}: the service's pollers, listening on
     * their channel, are woken by no commit and find every message at their poll interval.
     */
    @Test
    void a_service_given_another_channel_than_its_printed_outbox_notifies_on_is_woken_on_it_or_told_the_channel() throws Exception {
        OutboxNames printed = OutboxNames.inSchema("printed_channel");
        try (Connection connection = db.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(OutboxSchema.sql(printed));
        }
        OutboxNames service = printed.withChannel("printed_channel_outbox");

        Throwable failure = catchThrowable(() -> OutboxMigrations.apply(db.dataSource(), service));

        assertWokenOnItsChannelOrTold(service, printed.channel(), failure);
        if (failure != null) {
            assertThat(failure.getMessage()).as("the way to move a printed outbox to the service's channel")
                    .contains("--channel " + service.channel() + " --version 5");
        }
    }

    /**
     * An outbox installed from printed SQL moves to another channel as the refusal above says:
     * version 5 printed with the new channel, run again, writes the trigger with it; a service of
     * that channel then starts on it and is woken by a commit.
     */
    @Test
    void an_outbox_installed_from_printed_sql_moves_to_another_channel_by_running_version_5_again_with_it() throws Exception {
        OutboxNames printed = OutboxNames.inSchema("printed_move");
        OutboxNames moved = printed.withChannel("printed_move_outbox");
        try (Connection connection = db.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(OutboxSchema.sql(printed));
            statement.execute(OutboxSchema.scripts(moved).get(4).sql());
        }

        assertThat(OutboxMigrations.apply(db.dataSource(), moved)).as("current, on the new channel").isZero();
        assertThat(notifiedOnCommit(moved)).as("a commit notifies on the new channel").isTrue();
        assertThat(catchThrowable(() -> OutboxMigrations.apply(db.dataSource(), printed)).getMessage())
                .as("a process left on the old channel is told").contains("channel " + moved.channel());
    }

    /**
     * An outbox installed from printed SQL of an older version (here versions 1 to 3, no history of
     * OutboxMigrations) started with another channel: the remaining scripts write the trigger
     * function again with the process's channel (versions 4 and 5 replace it), so the start applies
     * them, as before the refusals, and a commit then wakes the process's channel.
     */
    @Test
    void an_outbox_printed_at_an_older_version_started_with_another_channel_is_upgraded_onto_that_channel() throws Exception {
        OutboxNames printed = OutboxNames.inSchema("printed_v3");
        try (Connection connection = db.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            for (OutboxSchema.Script script : OutboxSchema.scripts(printed).subList(0, 3)) {
                statement.execute(script.sql());
            }
        }
        OutboxNames service = printed.withChannel("printed_v3_outbox");

        int applied = OutboxMigrations.apply(db.dataSource(), service);

        assertThat(applied).as("versions 4 and 5").isEqualTo(OutboxSchema.scripts(service).size() - 3);
        assertThat(notifiedOnCommit(service)).as("a commit notifies on the service's channel").isTrue();
    }

    /**
     * The start that ended with {@code failure} (null: it started) refused naming the channel and the
     * {@code installed} one its trigger notifies on, changing nothing, or left commits notifying on it.
     */
    private static void assertWokenOnItsChannelOrTold(OutboxNames names, String installed, Throwable failure) throws Exception {
        if (failure != null) {
            assertThat(failure.getMessage()).as("the refusal names the channel").contains("channel")
                    .contains(names.channel()).contains("channel " + installed).contains("OUTBOX_CHANNEL");
            assertThat(notifiedOnCommit(names.withChannel(installed))).as("the trigger still notifies on " + installed)
                    .isTrue();
            return;
        }
        assertThat(notifiedOnCommit(names)).as("a commit notifies on the service's channel").isTrue();
    }

    /** Whether a commit to the outbox, with a poller announced as waiting, notifies on {@code names}' channel. */
    private static boolean notifiedOnCommit(OutboxNames names) throws Exception {
        try (Connection listener = db.dataSource().getConnection(); Statement statement = listener.createStatement()) {
            statement.execute("LISTEN " + names.channel());
            db.jdbi().useHandle(h -> h.execute("UPDATE " + names.qualifiedWakeupTable()
                    + " SET waiting_until = now() + interval '1 minute'"));
            db.jdbi().useTransaction(h -> OutboxWriter.create(names).write(h,
                    NewMessage.of("Order", "o-1", "OrderCreated", "{}")));
            PGNotification[] told = listener.unwrap(PGConnection.class).getNotifications(5_000);
            statement.execute("UNLISTEN *");
            return told != null && told.length > 0;
        }
    }
}
