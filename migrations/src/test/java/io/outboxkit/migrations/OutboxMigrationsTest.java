package io.outboxkit.migrations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxSchema;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.callback.Callback;
import org.flywaydb.core.api.callback.Context;
import org.flywaydb.core.api.callback.Event;
import org.flywaydb.core.api.migration.JavaMigration;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The library's schema applied with Flyway on its own: only the library's objects, in the schema
 * and with the names configured, recorded in a history table of its own, beside an application's
 * own Flyway migrations, which it neither reads nor touches. Each test works in a schema of its own.
 */
class OutboxMigrationsTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 6);

    /** Every version of the library's schema, as the history records them. */
    private static final String[] ALL_VERSIONS = {"1 outbox", "2 dead_index", "3 notify_only_while_waiting",
            "4 wakeup_lock_of_the_table", "5 wakeup_table_qualified"};

    @Test
    void on_an_empty_schema_it_creates_only_the_librarys_objects_and_its_own_history() {
        OutboxNames names = OutboxNames.inSchema("alone");
        assertThat(OutboxMigrations.apply(db.dataSource(), names)).isEqualTo(ALL_VERSIONS.length);
        assertThat(tables("alone")).containsExactlyInAnyOrder("outbox", "processed_messages", "outbox_wakeup",
                "outbox_schema_history");
        assertThat(functions("alone")).containsExactly("outbox_notify");
        assertThat(names.relations()).as("OutboxNames.relations(), which a history table must not take, lists them all")
                .containsAll(db.jdbi().withHandle(h -> h.createQuery("SELECT c.relname FROM pg_class c JOIN pg_namespace n "
                        + "ON n.oid = c.relnamespace WHERE n.nspname = 'alone'").mapTo(String.class).list()));
        assertThat(tables("public")).as("nothing outside the names' schema").doesNotContain("outbox", "flyway_schema_history");
        assertThat(OutboxMigrations.apply(db.dataSource(), names)).as("applied again: nothing to do").isZero();
    }

    @Test
    void beside_an_applications_own_flyway_both_apply_and_neither_touches_the_others_history() {
        Flyway application = Flyway.configure().dataSource(db.dataSource()).schemas("shop").defaultSchema("shop")
                .locations("classpath:db/application").load();
        assertThat(application.migrate().migrationsExecuted).isEqualTo(2);
        List<String> before = history("shop", "flyway_schema_history");

        assertThat(OutboxMigrations.apply(db.dataSource(), OutboxNames.inSchema("shop"))).isEqualTo(ALL_VERSIONS.length);

        assertThat(history("shop", "flyway_schema_history")).as("the application's history is untouched").isEqualTo(before);
        assertThat(history("shop", "outbox_schema_history")).containsExactly(ALL_VERSIONS);
        assertThat(tables("shop")).contains("accounts", "outbox", "processed_messages");
        assertThat(application.validateWithResult().validationSuccessful).as("the application's Flyway still validates")
                .isTrue();
        assertThat(application.migrate().migrationsExecuted).isZero();
    }

    @Test
    void a_schema_at_version_1_is_brought_to_the_latest_version_which_indexes_the_dead_messages() {
        OutboxNames names = OutboxNames.inSchema("upgrade");
        migrateAsAnEarlierRelease(names, 1);
        assertThat(indexes("upgrade")).doesNotContain("outbox_dead_seq");

        assertThat(OutboxMigrations.apply(db.dataSource(), names)).as("only the new scripts").isEqualTo(ALL_VERSIONS.length - 1);

        assertThat(history("upgrade", "outbox_schema_history")).containsExactly(ALL_VERSIONS);
        assertThat(indexes("upgrade")).contains("outbox_dead_seq");
        String definition = db.jdbi().withHandle(h -> h.createQuery("SELECT indexdef FROM pg_indexes "
                + "WHERE schemaname = 'upgrade' AND indexname = 'outbox_dead_seq'").mapTo(String.class).one());
        assertThat(definition).contains("(seq)").contains("WHERE (status = 'DEAD'::text)");
    }

    @Test
    void a_schema_at_version_2_is_brought_to_the_latest_version_keeping_its_messages_and_its_trigger_replaced() {
        OutboxNames names = OutboxNames.inSchema("upgrade_v3");
        migrateAsAnEarlierRelease(names, 2);
        assertThat(history("upgrade_v3", "outbox_schema_history")).containsExactly("1 outbox", "2 dead_index");
        OutboxWriter writer = OutboxWriter.create(names);
        List<UUID> written = db.jdbi().inTransaction(h -> List.of(
                writer.write(h, NewMessage.of("Order", "o-1", "OrderCreated", "{\"n\":1}")),
                writer.write(h, NewMessage.of("Order", "o-2", "OrderCreated", "{\"n\":2}"))));
        db.jdbi().useHandle(h -> h.execute("UPDATE upgrade_v3.outbox SET status = 'PUBLISHED', published_at = now() "
                + "WHERE id = ?", written.get(0)));

        assertThat(OutboxMigrations.apply(db.dataSource(), names)).as("only the new scripts").isEqualTo(ALL_VERSIONS.length - 2);

        assertThat(history("upgrade_v3", "outbox_schema_history")).containsExactly(ALL_VERSIONS);
        assertThat(strings("SELECT id::text || ' ' || status FROM upgrade_v3.outbox ORDER BY seq"))
                .containsExactly(written.get(0) + " PUBLISHED", written.get(1) + " PENDING");
        assertThat(strings("SELECT waiting_until::text FROM upgrade_v3.outbox_wakeup")).as("nobody waits yet")
                .containsExactly("-infinity");
        String trigger = db.jdbi().withHandle(h -> h.createQuery("SELECT prosrc FROM pg_proc p JOIN pg_namespace n "
                + "ON n.oid = p.pronamespace WHERE n.nspname = 'upgrade_v3' AND p.proname = 'outbox_notify'")
                .mapTo(String.class).one());
        assertThat(trigger).contains("pg_advisory_xact_lock_shared").contains("TG_RELID")
                .as("the wake-up table qualified, whatever a writer's search_path").contains("FROM upgrade_v3.outbox_wakeup WHERE waiting_until > now()");
        UUID third = db.jdbi().inTransaction(h -> writer.write(h, NewMessage.of("Order", "o-3", "OrderCreated", "{}")));
        assertThat(third).as("a write through the new trigger").isNotNull();
    }

    /**
     * A service migrates the library's schema at its start, so on a rolling upgrade the outbox is
     * live: producers write to it while version 2 is applied. Version 2's {@code CREATE INDEX} needs
     * a SHARE lock on the outbox, which waits for every open transaction that wrote to it, and every
     * writer that comes after queues behind it. The script waits for it only briefly, lets the
     * writers go, and tries again, until the business transaction has ended.
     */
    @Test
    void applying_version_2_on_a_live_outbox_does_not_stop_new_writers_behind_a_business_transaction_in_progress()
            throws Exception {
        OutboxNames names = OutboxNames.inSchema("live_upgrade");
        migrateAsAnEarlierRelease(names, 1);
        OutboxWriter writer = OutboxWriter.create(names);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try (Handle inProgress = db.jdbi().open()) {
            inProgress.begin(); // a producer's business transaction, still working after its event was written
            writer.write(inProgress, NewMessage.of("Order", "o-1", "OrderCreated", "{}"));
            Future<Integer> migration = threads.submit(() -> OutboxMigrations.apply(db.dataSource(), names));
            await().atMost(Duration.ofSeconds(10)).until(() -> waitingOnALock("%outbox_dead_seq%"));

            Future<UUID> another = threads.submit(() -> db.jdbi().inTransaction(h -> writer.write(h,
                    NewMessage.of("Order", "o-2", "OrderCreated", "{}"))));
            try {
                assertThat(another).as("another producer's write while the migration waits for its lock")
                        .succeedsWithin(OutboxMigrations.LOCK_WAIT.plusSeconds(2));
            } finally {
                inProgress.commit();
            }

            assertThat(migration.get(30, TimeUnit.SECONDS)).as("applied on a later attempt")
                    .isEqualTo(ALL_VERSIONS.length - 1);
            assertThat(history("live_upgrade", "outbox_schema_history")).containsExactly(ALL_VERSIONS);
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void a_migration_that_never_gets_its_lock_gives_up_naming_the_script_and_the_session_that_holds_the_outbox()
            throws Exception {
        OutboxNames names = OutboxNames.inSchema("held_upgrade");
        migrateAsAnEarlierRelease(names, 1);
        OutboxMigrations briefly = OutboxMigrations.builder(db.dataSource()).names(names)
                .lockRetry(Duration.ofMillis(200), 2, Duration.ofMillis(50)).build();
        try (Handle inProgress = db.jdbi().open()) {
            inProgress.begin();
            OutboxWriter.create(names).write(inProgress, NewMessage.of("Order", "o-1", "OrderCreated", "{}"));
            int holder = inProgress.createQuery("SELECT pg_backend_pid()").mapTo(Integer.class).one();

            assertThatThrownBy(briefly::apply).isInstanceOf(FlywayException.class)
                    .hasMessageContaining("could not apply outboxkit schema version 2 (dead_index) to \"held_upgrade\".\"outbox\"")
                    .hasMessageContaining("at each of 2 attempts another transaction held a lock on it longer than 200 ms")
                    .hasMessageContaining("held by pid " + holder + ", ")
                    .hasMessageContaining("idle in transaction")
                    .hasMessageContaining("Upgrading a live outbox");
            inProgress.commit();
        }

        assertThat(history("held_upgrade", "outbox_schema_history")).as("nothing half applied").containsExactly("1 outbox");
        assertThat(briefly.apply()).as("once the transaction has ended").isEqualTo(ALL_VERSIONS.length - 1);
    }

    /**
     * When a migration fails, the catalog is read again to tell a contradiction created meanwhile; a
     * failure of that read must not replace the migration's own failure and its advice. Here every
     * connection asked for after Flyway has started, other than Flyway's own, is refused.
     */
    @Test
    void a_catalog_read_failing_after_the_lock_was_never_granted_keeps_the_lock_advice_and_is_attached_to_it()
            throws Exception {
        OutboxNames names = OutboxNames.inSchema("held_recheck");
        migrateAsAnEarlierRelease(names, 1);
        AtomicBoolean flywayStarted = new AtomicBoolean();
        DataSource failingOutsideFlyway = (DataSource) Proxy.newProxyInstance(DataSource.class.getClassLoader(),
                new Class<?>[] {DataSource.class}, (proxy, method, args) -> {
                    if (method.getName().equals("getConnection")) {
                        boolean byFlyway = StackWalker.getInstance().walk(frames -> frames
                                .anyMatch(frame -> frame.getClassName().startsWith("org.flywaydb.")));
                        if (byFlyway) {
                            flywayStarted.set(true);
                        } else if (flywayStarted.get()) {
                            throw new SQLException("connection refused by the test");
                        }
                    }
                    try {
                        return method.invoke(db.dataSource(), args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        OutboxMigrations briefly = OutboxMigrations.builder(failingOutsideFlyway).names(names)
                .lockRetry(Duration.ofMillis(200), 1, Duration.ofMillis(50)).build();
        try (Handle inProgress = db.jdbi().open()) {
            inProgress.begin();
            OutboxWriter.create(names).write(inProgress, NewMessage.of("Order", "o-1", "OrderCreated", "{}"));

            Throwable failure = catchThrowable(briefly::apply);

            assertThat(failure).isInstanceOf(FlywayException.class)
                    .hasMessageContaining("at each of 1 attempts another transaction held a lock on it longer than 200 ms")
                    .hasMessageContaining("Upgrading a live outbox");
            assertThat(failure.getCause().getSuppressed()).as("the failed catalog read, kept")
                    .anySatisfy(read -> assertThat(read).hasMessageContaining("could not read the catalog")
                            .hasMessageContaining("connection refused by the test"));
            inProgress.commit();
        }
    }

    @Test
    void the_lock_wait_applies_inside_the_migrations_transactions_and_stays_off_the_pools_connections() throws Exception {
        try (HikariDataSource own = db.newPool(2)) {
            OutboxMigrations.apply(own, OutboxNames.inSchema("lock_wait_scope"));
            try (Connection first = own.getConnection(); Connection second = own.getConnection()) {
                for (Connection connection : List.of(first, second)) {
                    try (ResultSet row = connection.createStatement().executeQuery("SHOW lock_timeout")) {
                        row.next();
                        assertThat(row.getString(1)).as("the server's default, after the migration").isEqualTo("0");
                    }
                }
            }
        }
    }

    private static boolean waitingOnALock(String queryPattern) {
        return db.jdbi().withHandle(h -> h.createQuery("""
                        SELECT count(*) FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE :q""")
                .bind("q", queryPattern).mapTo(Long.class).one()) > 0;
    }

    @Test
    void an_applications_db_migration_folder_on_the_classpath_is_never_picked_up() {
        // db/application is on this test's classpath; so would an application's db/migration be.
        OutboxMigrations.builder(db.dataSource()).names(OutboxNames.inSchema("no_scan")).build().apply();
        assertThat(tables("no_scan")).doesNotContain("accounts");
        assertThat(history("no_scan", "outbox_schema_history")).containsExactly(ALL_VERSIONS);
    }

    @Test
    void two_outboxes_in_one_schema_keep_two_histories_and_both_get_their_tables() {
        OutboxNames orders = OutboxNames.inSchema("pair").withOutboxTable("orders_outbox")
                .withProcessedTable("orders_processed").withChannel("orders_outbox");
        OutboxNames billing = OutboxNames.inSchema("pair").withOutboxTable("billing_outbox")
                .withProcessedTable("billing_processed").withChannel("billing_outbox");
        assertThat(OutboxMigrations.apply(db.dataSource(), orders)).isEqualTo(ALL_VERSIONS.length);
        assertThat(OutboxMigrations.apply(db.dataSource(), billing)).isEqualTo(ALL_VERSIONS.length);
        assertThat(tables("pair")).containsExactlyInAnyOrder("orders_outbox", "orders_processed",
                "orders_outbox_schema_history", "orders_outbox_wakeup", "billing_outbox", "billing_processed",
                "billing_outbox_schema_history", "billing_outbox_wakeup");
    }

    @Test
    void processes_starting_at_once_migrate_once() throws Exception {
        OutboxNames names = OutboxNames.inSchema("racing");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            // Each its own pool, as each process has.
            Callable<Integer> migrate = () -> {
                try (HikariDataSource own = db.newPool(2)) {
                    return OutboxMigrations.apply(own, names);
                }
            };
            List<Future<Integer>> results = pool.invokeAll(List.of(migrate, migrate, migrate, migrate));
            int applied = 0;
            for (Future<Integer> result : results) {
                applied += result.get();
            }
            assertThat(applied).isEqualTo(ALL_VERSIONS.length);
        } finally {
            pool.shutdownNow();
        }
        assertThat(history("racing", "outbox_schema_history")).containsExactly(ALL_VERSIONS);
    }

    @Test
    void processes_starting_at_once_in_a_schema_that_already_holds_tables_migrate_once() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            for (int round = 0; round < 3; round++) {
                String schema = "crowded_" + round;
                db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA " + schema + "; CREATE TABLE " + schema + ".accounts (id int)"));
                List<Integer> applied = applyAtOnce(pool, 6, null, OutboxNames.inSchema(schema));
                assertThat(applied.stream().mapToInt(Integer::intValue).sum()).as(schema).isEqualTo(ALL_VERSIONS.length);
                assertThat(history(schema, "outbox_schema_history")).containsExactly(ALL_VERSIONS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void a_process_that_finds_the_history_just_created_by_another_and_still_empty_tries_again_and_migrates() {
        db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA overtaken; CREATE TABLE overtaken.accounts (id int)"));
        OutboxNames names = OutboxNames.inSchema("overtaken");
        OutboxMigrations.apply(db.dataSource(), OutboxNames.inSchema("history_shape")); // a history to copy the shape of
        AtomicInteger overtaken = new AtomicInteger();
        // Between this process's look for the history and its baseline, another process creates the
        // history and has not yet written its first row: the moment Flyway refuses to baseline.
        Callback anotherProcessCreatesTheHistory = onceBeforeBaseline("another process creates the history", overtaken,
                () -> db.jdbi().useHandle(h -> h.execute("CREATE TABLE overtaken.outbox_schema_history "
                        + "(LIKE history_shape.outbox_schema_history INCLUDING ALL)")));

        int applied = SharedSchemaFlyway.migrate(configuration(names).callbacks(anotherProcessCreatesTheHistory));

        assertThat(overtaken.get()).as("the race was staged").isEqualTo(1);
        assertThat(applied).isEqualTo(ALL_VERSIONS.length);
        assertThat(history("overtaken", "outbox_schema_history")).containsExactly(ALL_VERSIONS);
    }

    @Test
    void a_process_that_finds_the_history_just_filled_by_another_tries_again_and_migrates() {
        db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA filled; CREATE TABLE filled.placeholder (id int)"));
        OutboxNames names = OutboxNames.inSchema("filled");
        AtomicInteger overtaken = new AtomicInteger();
        // This process saw a non-empty schema without the history (the other's brand-new history table,
        // modelled by the placeholder) and decides to baseline; meanwhile the other applied version 1.
        Callback anotherProcessAppliedVersion1 = onceBeforeBaseline("another process applies version 1", overtaken, () -> {
            db.jdbi().useHandle(h -> h.execute("DROP TABLE filled.placeholder"));
            configuration(names).target("1").load().migrate();
        });

        int applied = SharedSchemaFlyway.migrate(configuration(names).callbacks(anotherProcessAppliedVersion1));

        assertThat(overtaken.get()).as("the race was staged").isEqualTo(1);
        assertThat(applied).isEqualTo(ALL_VERSIONS.length - 1);
        assertThat(history("filled", "outbox_schema_history")).containsExactly(ALL_VERSIONS);
    }

    /** Runs {@code action} the first time this process is about to baseline: another process's move at that moment. */
    private static Callback onceBeforeBaseline(String name, AtomicInteger count, Runnable action) {
        return new Callback() {
            @Override
            public boolean supports(Event event, Context context) {
                return event == Event.BEFORE_BASELINE;
            }

            @Override
            public boolean canHandleInTransaction(Event event, Context context) {
                return true;
            }

            @Override
            public void handle(Event event, Context context) {
                if (count.getAndIncrement() == 0) {
                    action.run();
                }
            }

            @Override
            public String getCallbackName() {
                return name;
            }
        };
    }

    private static org.flywaydb.core.api.configuration.FluentConfiguration configuration(OutboxNames names) {
        return Flyway.configure(OutboxMigrations.class.getClassLoader())
                .dataSource(db.dataSource()).table(OutboxMigrations.defaultHistoryTable(names))
                .locations(new String[0]).failOnMissingLocations(false)
                .schemas(names.schema()).defaultSchema(names.schema())
                .javaMigrations(OutboxSchema.scripts(names).stream().map(ScriptMigration::new).toArray(JavaMigration[]::new));
    }

    @Test
    void an_outbox_installed_without_this_history_is_taken_at_the_version_its_objects_show_and_brought_up_from_there() {
        OutboxNames printed = OutboxNames.inSchema("printed");
        db.jdbi().useHandle(h -> h.execute(OutboxSchema.sql(printed))); // another tool ran the printed SQL
        db.jdbi().useHandle(h -> h.execute("INSERT INTO printed.outbox (id, aggregate_type, aggregate_id, event_type, payload) "
                + "VALUES (gen_random_uuid(), 'Order', 'o1', 'OrderCreated', '{}')"));
        OutboxNames older = OutboxNames.inSchema("older");
        db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA older; SET search_path TO older; "
                + OutboxSchema.scripts(older).get(0).sql() + "; SET search_path TO DEFAULT"));

        assertThat(OutboxMigrations.apply(db.dataSource(), printed)).as("nothing to run over the current objects").isZero();
        assertThat(OutboxMigrations.apply(db.dataSource(), older)).as("versions 2 and later over version 1's objects")
                .isEqualTo(ALL_VERSIONS.length - 1);

        int kept = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM printed.outbox").mapTo(Integer.class).one());
        assertThat(kept).isEqualTo(1);
        assertThat(history("older", "outbox_schema_history")).containsExactly(
                Arrays.copyOfRange(ALL_VERSIONS, 1, ALL_VERSIONS.length));
        assertThat(indexes("older")).contains("outbox_dead_seq");
        assertThat(tables("older")).contains("outbox_wakeup");

        OutboxNames atV4 = OutboxNames.inSchema("printed_v4");
        db.jdbi().useHandle(h -> OutboxSchema.scripts(atV4).subList(0, 4).forEach(script -> h.execute(script.sql())));
        assertThat(OutboxMigrations.apply(db.dataSource(), atV4)).as("version 5 over version 4's objects").isEqualTo(1);
        assertThat(history("printed_v4", "outbox_schema_history")).containsExactly("5 wakeup_table_qualified");
    }

    /**
     * Version 5 writes the wake-up table's schema into the trigger: after ALTER SCHEMA ... RENAME
     * every write would fail with "relation ... does not exist" while the history of a service that
     * reaches the outbox through its connection's schema (the names unqualified, so the scripts and
     * their checksums unchanged) says current. The next apply finds the trigger naming a table that
     * no longer exists and writes it again.
     */
    @Test
    void after_the_outboxs_schema_is_renamed_applying_again_makes_the_trigger_name_the_renamed_wake_up_table() {
        db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA before_rename"));
        try (HikariDataSource service = db.newPool(2, config -> config.setSchema("before_rename"))) {
            OutboxMigrations.apply(service, OutboxNames.DEFAULT);
        }
        db.jdbi().useHandle(h -> h.execute("ALTER SCHEMA before_rename RENAME TO after_rename"));
        OutboxNames renamed = OutboxNames.inSchema("after_rename");
        OutboxWriter writer = OutboxWriter.create(renamed);
        assertThatThrownBy(() -> db.jdbi().useTransaction(h -> writer.write(h, NewMessage.of("Order", "o-1", "OrderCreated", "{}"))))
                .as("the trigger still names the old schema").hasMessageContaining("before_rename.outbox_wakeup");

        try (HikariDataSource service = db.newPool(2, config -> config.setSchema("after_rename"))) {
            assertThat(OutboxMigrations.apply(service, OutboxNames.DEFAULT)).as("no script to apply").isZero();
        }

        UUID written = db.jdbi().inTransaction(h -> writer.write(h, NewMessage.of("Order", "o-1", "OrderCreated", "{}")));
        assertThat(written).as("a write through the repaired trigger").isNotNull();
        assertThat(strings("SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                + "WHERE n.nspname = 'after_rename' AND p.proname = 'outbox_notify'"))
                .singleElement().asString().contains("FROM after_rename.outbox_wakeup WHERE waiting_until > now()");
    }

    /**
     * Replicas of a service start together after the rename: each finds the trigger naming the old
     * schema and would write it again at once, and concurrent CREATE OR REPLACE of one function fails
     * with "tuple concurrently updated". The rewrite takes a lock of its own and checks again under
     * it, so every replica starts.
     */
    @Test
    void replicas_starting_at_once_after_the_outboxs_schema_is_renamed_all_start_and_the_trigger_is_repaired() throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(8);
        try {
            for (int round = 0; round < 10; round++) {
                String before = "racing_rename_" + round;
                String after = "raced_rename_" + round;
                db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA " + before));
                try (HikariDataSource service = db.newPool(2, config -> config.setSchema(before))) {
                    OutboxMigrations.apply(service, OutboxNames.DEFAULT);
                }
                db.jdbi().useHandle(h -> h.execute("ALTER SCHEMA " + before + " RENAME TO " + after));
                assertThat(applyAtOnce(threads, 8, after, OutboxNames.DEFAULT)).as(after + ": every replica started, "
                        + "with no script to apply").containsOnly(0);
                assertThat(notifyFunctionOf(after)).as(after).contains("FROM " + after + ".outbox_wakeup WHERE");
            }
        } finally {
            threads.shutdownNow();
        }
    }

    /**
     * An outbox installed from printed SQL with its own channel, its schema renamed since: a process
     * started with another channel is refused naming both, and leaves the trigger as it was; one of
     * the outbox's channel repairs it, keeping the channel its relays listen on.
     */
    @Test
    void repairing_the_trigger_after_a_rename_keeps_the_channel_it_notifies_on() {
        db.jdbi().useHandle(h -> {
            h.execute("CREATE SCHEMA printed_before");
            h.execute("SET search_path TO printed_before");
            OutboxSchema.scripts(OutboxNames.DEFAULT.withChannel("orders_wake")).forEach(script -> h.execute(script.sql()));
            h.execute("RESET search_path");
            h.execute("ALTER SCHEMA printed_before RENAME TO printed_after");
        });

        try (HikariDataSource service = db.newPool(2, config -> config.setSchema("printed_after"))) {
            assertThatThrownBy(() -> OutboxMigrations.apply(service, OutboxNames.DEFAULT)).as("a process of another channel")
                    .hasMessageContaining("channel orders_wake").hasMessageContaining("given channel outbox");
            assertThat(notifyFunctionOf("printed_after")).as("left as it was").contains("FROM printed_before.outbox_wakeup");
            OutboxMigrations.apply(service, OutboxNames.DEFAULT.withChannel("orders_wake"));
        }

        assertThat(notifyFunctionOf("printed_after")).contains("FROM printed_after.outbox_wakeup WHERE")
                .contains("pg_notify('orders_wake', '')");
    }

    /**
     * What {@code processes} processes, each with a pool of its own (connected to
     * {@code connectionSchema} when not null) and connected before the race, each returned from
     * {@code apply} when they all started it at once (a barrier); a process's failure fails this.
     */
    private List<Integer> applyAtOnce(ExecutorService threads, int processes, String connectionSchema, OutboxNames names)
            throws Exception {
        List<HikariDataSource> pools = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < processes; i++) {
                HikariDataSource own = db.newPool(2, config -> {
                    if (connectionSchema != null) {
                        config.setSchema(connectionSchema);
                    }
                });
                pools.add(own);
                own.getConnection().close(); // connected before the race starts
            }
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(processes);
            List<Callable<Integer>> racers = pools.stream().<Callable<Integer>>map(own -> () -> {
                start.await();
                return OutboxMigrations.apply(own, names);
            }).toList();
            List<Integer> applied = new java.util.ArrayList<>();
            for (Future<Integer> result : threads.invokeAll(racers)) {
                applied.add(result.get());
            }
            return applied;
        } finally {
            pools.forEach(HikariDataSource::close);
        }
    }

    private String notifyFunctionOf(String schema) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n "
                + "ON n.oid = p.pronamespace WHERE n.nspname = :schema AND p.proname = 'outbox_notify'")
                .bind("schema", schema).mapTo(String.class).one());
    }

    @Test
    void a_history_table_of_the_applications_own_or_not_an_identifier_is_refused() {
        assertThatThrownBy(() -> OutboxMigrations.builder(db.dataSource()).historyTable("flyway_schema_history").build())
                .hasMessageContaining("must not be flyway_schema_history");
        assertThatThrownBy(() -> OutboxMigrations.builder(db.dataSource()).historyTable("History; drop").build())
                .hasMessageContaining("historyTable must be a lowercase SQL identifier");
        assertThat(OutboxMigrations.builder(db.dataSource()).historyTable("outboxkit_schema_history").build().historyTable())
                .isEqualTo("outboxkit_schema_history");
    }

    @Test
    void a_history_table_named_as_one_of_the_outboxs_own_objects_is_refused_at_build_naming_historyTable() {
        // Flyway would create the history under that name, then the outbox's first script fails on it ('relation
        // outbox already exists') and leaves a history a later apply with the default one cannot get past.
        OutboxNames names = OutboxNames.inSchema("history_clash").withOutboxTable("events_pk");
        for (String taken : List.of("events_pk", "processed_messages", "events_pk_wakeup", "events_pk_pending_seq", "events")) {
            assertThatThrownBy(() -> OutboxMigrations.builder(db.dataSource()).names(names).historyTable(taken).build())
                    .as(taken).isInstanceOfSatisfying(InvalidOptionException.class,
                            e -> assertThat(e.option()).isEqualTo("historyTable"))
                    .hasMessageContaining("historyTable " + taken + " would take the name");
        }
        assertThat(tables("history_clash")).as("nothing created").isEmpty();
        assertThat(OutboxMigrations.apply(db.dataSource(), names)).isEqualTo(ALL_VERSIONS.length);
    }

    @Test
    void a_history_table_too_long_for_flyways_key_and_index_names_is_refused_and_the_longest_accepted_migrates() {
        // Flyway names the history's key and index <table>_pk and <table>_s_idx; PostgreSQL would cut a longer name
        // to the table's own, and apply() would fail with 'relation ... already exists'.
        OutboxNames names = OutboxNames.inSchema("history_long");
        assertThatThrownBy(() -> OutboxMigrations.builder(db.dataSource()).names(names).historyTable("h".repeat(58)).build())
                .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("historyTable"))
                .hasMessageContaining("historyTable must be a lowercase SQL identifier of 1 to 57 characters");
        OutboxMigrations longest = OutboxMigrations.builder(db.dataSource()).names(names).historyTable("h".repeat(57)).build();
        assertThat(longest.apply()).isEqualTo(ALL_VERSIONS.length);
        assertThat(tables("history_long")).contains("h".repeat(57), "outbox");
    }

    /** Migrates as the release whose latest schema version was {@code version} did: its scripts, the same history table. */
    private static void migrateAsAnEarlierRelease(OutboxNames names, int version) {
        List<OutboxSchema.Script> earlier = OutboxSchema.scripts(names).subList(0, version);
        SharedSchemaFlyway.migrate(Flyway.configure(OutboxMigrations.class.getClassLoader()).dataSource(db.dataSource())
                .table(OutboxMigrations.defaultHistoryTable(names)).locations(new String[0]).failOnMissingLocations(false)
                .schemas(names.schema()).defaultSchema(names.schema()).createSchemas(true)
                .javaMigrations(earlier.stream().map(ScriptMigration::new).toArray(JavaMigration[]::new)));
        assertThat(history(names.schema(), OutboxMigrations.defaultHistoryTable(names))).hasSize(version);
    }

    private static List<String> strings(String query) {
        return db.jdbi().withHandle(h -> h.createQuery(query).mapTo(String.class).list());
    }

    private static List<String> tables(String schema) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT tablename FROM pg_tables WHERE schemaname = :s")
                .bind("s", schema).mapTo(String.class).list());
    }

    private static List<String> functions(String schema) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT p.proname FROM pg_proc p JOIN pg_namespace n "
                + "ON n.oid = p.pronamespace WHERE n.nspname = :s").bind("s", schema).mapTo(String.class).list());
    }

    private static List<String> indexes(String schema) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT indexname FROM pg_indexes WHERE schemaname = :s")
                .bind("s", schema).mapTo(String.class).list());
    }

    /** The versions and descriptions of the migrations a history table records, in order (no baseline, no schema creation). */
    private static List<String> history(String schema, String table) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT version || ' ' || description FROM \"" + schema + "\".\""
                + table + "\" WHERE type NOT IN ('BASELINE', 'SCHEMA') ORDER BY installed_rank").mapTo(String.class).list());
    }
}
