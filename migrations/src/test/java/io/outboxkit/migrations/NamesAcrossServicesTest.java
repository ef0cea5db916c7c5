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
import org.flywaydb.core.api.FlywayException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * Outboxes of several services in one database, and a service whose names differ from those its
 * outbox was migrated with: refused at start, naming the setting, where the database contradicts
 * them. Each test works in a schema of its own.
 */
class NamesAcrossServicesTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 6);

    /**
     * Two services keep two outboxes in one schema (README: "each with its own names"), each giving
     * only its outbox table and channel, so both keep the default processed-messages table, which
     * the first one's version 1 created. The second's version 1 would fail on "relation
     * processed_messages already exists", naming neither the setting nor the other outbox: its start
     * is refused before anything is created, naming {@code processedTable} and the other outbox
     * (README, "The tables"; GUARANTEES).
     */
    @Test
    void a_second_outbox_in_a_schema_keeping_the_default_processed_table_is_refused_naming_the_processed_table() {
        OutboxNames orders = OutboxNames.inSchema("shared").withOutboxTable("orders_outbox").withChannel("orders_outbox");
        OutboxNames billing = OutboxNames.inSchema("shared").withOutboxTable("billing_outbox").withChannel("billing_outbox");
        assertThat(OutboxMigrations.apply(db.dataSource(), orders)).isEqualTo(OutboxSchema.scripts(orders).size());

        Throwable failure = catchThrowable(() -> OutboxMigrations.apply(db.dataSource(), billing));

        assertThat(failure).as("the billing service's start, refused").isInstanceOf(FlywayException.class);
        assertThat(failure.getMessage()).contains("processedTable").contains("PROCESSED_TABLE")
                .contains(orders.outboxTable());
        boolean nothingCreated = db.jdbi().withHandle(h -> h.createQuery("SELECT to_regclass('shared.billing_outbox') "
                + "IS NULL AND to_regclass('shared.billing_outbox_schema_history') IS NULL").mapTo(Boolean.class).one());
        assertThat(nothingCreated).as("nothing of the billing outbox created").isTrue();
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
        try (HikariDataSource service = onSearchPath("sp_service, sp_shared")) {

            int applied = OutboxMigrations.apply(service, OutboxNames.DEFAULT);

            assertThat(applied).isEqualTo(OutboxSchema.scripts(OutboxNames.DEFAULT).size());
        }
        boolean created = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT to_regclass('sp_service.outbox') IS NOT NULL AND to_regclass('sp_service.processed_messages') IS NOT NULL")
                .mapTo(Boolean.class).one());
        assertThat(created).as("the outbox and its processed table in the current schema").isTrue();
    }

    /**
     * As above, with an outbox installed in the later schema: from printed SQL at the latest version
     * (its trigger naming a wake-up table its schema was renamed from), or by OutboxMigrations with
     * its history. The runtime's unqualified names resolve along the search_path, so a new outbox in
     * the current schema would shadow that one for every writer, poller and admin, and its pending
     * messages would never be delivered. The first start is refused before anything is written,
     * naming both schemas and the setting; nothing is created in the current schema and the other
     * outbox's trigger function is left as it is.
     */
    @Test
    void an_outbox_of_a_later_schema_on_the_search_path_is_not_taken_for_this_ones() throws Exception {
        db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA sp_printed; CREATE SCHEMA sp_own"));
        try (Connection connection = db.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(OutboxSchema.sql(OutboxNames.inSchema("sp_printed")));
            statement.execute("ALTER SCHEMA sp_printed RENAME TO sp_public");
        }
        String otherFunction = "SELECT prosrc FROM pg_proc WHERE oid = 'sp_public.outbox_notify()'::regprocedure";
        String before = db.jdbi().withHandle(h -> h.createQuery(otherFunction).mapTo(String.class).one());

        assertRefusedForTheOutboxOf("sp_own", "sp_public");

        String after = db.jdbi().withHandle(h -> h.createQuery(otherFunction).mapTo(String.class).one());
        assertThat(after).as("the other application's trigger function, untouched").isEqualTo(before);

        db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA sp_migrated; CREATE SCHEMA sp_current"));
        OutboxMigrations.apply(db.dataSource(), OutboxNames.inSchema("sp_migrated"));
        assertRefusedForTheOutboxOf("sp_current", "sp_migrated");
    }

    /**
     * The refusal's two ways out: with the schema set to the later one the start uses the outbox
     * there (nothing to apply; a commit through the search_path reaches it), and with the schema set
     * to the current one it creates an outbox there.
     */
    @Test
    void an_outbox_of_a_later_schema_on_the_search_path_starts_once_the_schema_is_set_to_either() {
        db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA sp_later; CREATE SCHEMA sp_first"));
        db.jdbi().useHandle(h -> h.execute(OutboxSchema.sql(OutboxNames.inSchema("sp_later"))));
        int scripts = OutboxSchema.scripts(OutboxNames.DEFAULT).size();
        try (HikariDataSource service = onSearchPath("sp_first, sp_later")) {

            int ontoTheLater = OutboxMigrations.apply(service, OutboxNames.inSchema("sp_later"));
            int ontoTheFirst = OutboxMigrations.apply(service, OutboxNames.inSchema("sp_first"));

            assertThat(ontoTheLater).as("applied with the schema set to the later one").isZero();
            assertThat(ontoTheFirst).as("applied with the schema set to the current one").isEqualTo(scripts);
        }
        boolean created = db.jdbi().withHandle(h -> h.createQuery("SELECT to_regclass('sp_first.outbox') IS NOT NULL")
                .mapTo(Boolean.class).one());
        assertThat(created).as("an outbox created in the current schema").isTrue();
    }

    /**
     * A session's temporary table named like the outbox (PostgreSQL searches pg_temp first) is no
     * outbox of another schema: a start whose current schema holds the outbox is not refused for it.
     */
    @Test
    void a_temporary_table_named_like_the_outbox_is_not_taken_for_another_schemas_outbox() {
        db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA sp_temp"));
        db.jdbi().useHandle(h -> h.execute(OutboxSchema.sql(OutboxNames.inSchema("sp_temp"))));
        try (HikariDataSource service = db.newPool(1, config -> config.setConnectionInitSql(
                "SET search_path = sp_temp; CREATE TEMP TABLE outbox (x int)"))) {

            int applied = OutboxMigrations.apply(service, OutboxNames.DEFAULT);

            assertThat(applied).as("the outbox of the current schema, found at its version").isZero();
        }
    }

    /**
     * A start with default names on the search_path (current, later), where only later has an outbox,
     * was refused naming both schemas and the settings, leaving nothing created in current.
     */
    private static void assertRefusedForTheOutboxOf(String current, String later) {
        try (HikariDataSource service = onSearchPath(current + ", " + later)) {

            Throwable failure = catchThrowable(() -> OutboxMigrations.apply(service, OutboxNames.DEFAULT));

            assertThat(failure).as("the start, refused").isInstanceOf(FlywayException.class);
            assertThat(failure.getMessage()).contains(current).contains(later + ".outbox").contains("OUTBOX_SCHEMA")
                    .contains("outboxkit.schema.name");
        }
        boolean nothingCreated = db.jdbi().withHandle(h -> h.createQuery("SELECT to_regclass(:outbox) IS NULL "
                        + "AND to_regclass(:history) IS NULL").bind("outbox", current + ".outbox")
                .bind("history", current + ".outbox_schema_history").mapTo(Boolean.class).one());
        assertThat(nothingCreated).as("nothing created in " + current).isTrue();
    }

    /**
     * README advises giving each outbox its own channel ({@code withChannel}, the starter's
     * {@code outboxkit.schema.channel}, the relay's {@code OUTBOX_CHANNEL}). A service that does so
     * for an outbox migrated with the default channel is refused, naming both channels: its history
     * records the scripts with the old channel written in (Flyway would fail on a checksum mismatch
     * and advise a repair, after which the trigger would still notify on the old channel).
     */
    @Test
    void a_service_given_another_channel_than_its_outbox_was_migrated_with_is_refused_naming_the_channel() throws Exception {
        OutboxNames before = OutboxNames.inSchema("rechannel");
        OutboxNames after = before.withChannel("rechannel_outbox");
        OutboxMigrations.apply(db.dataSource(), before);

        Throwable failure = catchThrowable(() -> OutboxMigrations.apply(db.dataSource(), after));

        assertRefusedNamingTheChannels(after, before.channel(), failure);
    }

    /**
     * As above, for an outbox installed from {@link OutboxSchema}'s printed SQL (another migration
     * tool) at the latest version, which {@code OutboxMigrations} leaves as it is: no script is left
     * to write the service's channel into the trigger, so the start is refused and the refusal gives
     * the command that moves the outbox to that channel.
     */
    @Test
    void a_service_given_another_channel_than_its_printed_outbox_notifies_on_is_refused_naming_the_channel() throws Exception {
        OutboxNames printed = OutboxNames.inSchema("printed_channel");
        try (Connection connection = db.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(OutboxSchema.sql(printed));
        }
        OutboxNames service = printed.withChannel("printed_channel_outbox");

        Throwable failure = catchThrowable(() -> OutboxMigrations.apply(db.dataSource(), service));

        assertRefusedNamingTheChannels(service, printed.channel(), failure);
        assertThat(failure.getMessage()).as("the way to move a printed outbox to the service's channel")
                .contains("--channel " + service.channel() + " --version 5").doesNotContain("its history records");
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
     * them, as before the refusals, and a commit then wakes the process's channel. The outbox has
     * moved for every process: one restarted on the old channel is refused (README, "The tables").
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
        assertRefusedNamingTheChannels(printed, service.channel(),
                catchThrowable(() -> OutboxMigrations.apply(db.dataSource(), printed)));
    }

    /** A pool of a service whose connections have this search_path; the caller closes it. */
    private static HikariDataSource onSearchPath(String searchPath) {
        return db.newPool(2, config -> config.setConnectionInitSql("SET search_path = " + searchPath));
    }

    /**
     * The start that ended with {@code failure} was refused naming the channel, the {@code installed}
     * one its trigger notifies on, and the setting, and changed nothing: commits still notify on it.
     */
    private static void assertRefusedNamingTheChannels(OutboxNames names, String installed, Throwable failure)
            throws Exception {
        assertThat(failure).as("the start, refused").isInstanceOf(FlywayException.class);
        assertThat(failure.getMessage()).as("the refusal names the channel").contains("channel")
                .contains(names.channel()).contains("channel " + installed).contains("OUTBOX_CHANNEL");
        assertThat(notifiedOnCommit(names.withChannel(installed))).as("the trigger still notifies on " + installed)
                .isTrue();
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
