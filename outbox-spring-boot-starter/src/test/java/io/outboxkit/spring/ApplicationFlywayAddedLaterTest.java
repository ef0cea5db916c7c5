package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.flywaydb.core.api.callback.BaseCallback;
import org.flywaydb.core.api.callback.Context;
import org.flywaydb.core.api.callback.Event;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.flyway.autoconfigure.FlywayAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * An application that ran the starter before it had Flyway migrations of its own (or with
 * {@code spring.flyway.enabled=false}) has the library's tables in its schema and no
 * {@code flyway_schema_history}; when it adds its first migrations, they apply: its Flyway baselines
 * at version 0. Never over a schema holding anything of the application's, nor over a version 0,
 * nor when the application set {@code spring.flyway.baseline-on-migrate} itself.
 */
class ApplicationFlywayAddedLaterTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY);

    private static final String REFUSAL = "Found non-empty schema(s) \"public\" but no schema history table";
    private static final String ANY_REFUSAL = "but no schema history table";

    @BeforeEach
    void startsWithTheLibrarysTablesOnly() {
        db.jdbi().useHandle(h -> h.execute("DROP SCHEMA IF EXISTS app_audit CASCADE; DROP SCHEMA public CASCADE; CREATE SCHEMA public"));
        Contexts.on(db).run(context -> assertThat(context).hasNotFailed());
        assertThat(tables()).contains("outbox", "outbox_schema_history").doesNotContain("app_orders");
    }

    @Test
    void on_a_database_that_has_only_the_librarys_tables_the_applications_first_migrations_apply() {
        withFlyway("db/app-migration").run(context -> assertThat(context).hasNotFailed());

        assertThat(tables()).contains("app_orders", "flyway_schema_history");
        assertThat(applied()).containsExactly("0", "1");
        withFlyway("db/app-migration").run(context -> assertThat(context).hasNotFailed());
        assertThat(applied()).containsExactly("0", "1");
    }

    /** The check for a version 0 reads the migrations without firing the application's callbacks. */
    @Test
    void the_applications_flyway_callbacks_see_only_its_migrate() {
        withFlyway("db/app-migration").withBean(RecordingCallback.class).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(RecordingCallback.class).events)
                    .contains(Event.BEFORE_MIGRATE, Event.AFTER_MIGRATE)
                    .doesNotContain(Event.BEFORE_INFO, Event.AFTER_INFO);
        });

        assertThat(applied()).containsExactly("0", "1");
    }

    @Test
    void a_schema_that_also_holds_a_table_of_the_applications_is_never_baselined() {
        db.jdbi().useHandle(h -> h.execute("CREATE TABLE customers (id uuid PRIMARY KEY)"));

        refusedWithNothingCreated(withFlyway("db/app-migration"), REFUSAL);
    }

    @Test
    void an_application_whose_first_migration_is_version_0_is_not_baselined_over_it() {
        refusedWithNothingCreated(withFlyway("db/app-migration-from-zero"), REFUSAL);
    }

    @Test
    void a_view_of_the_applications_is_never_baselined_over() {
        db.jdbi().useHandle(h -> h.execute("CREATE VIEW dead_messages AS SELECT id FROM outbox WHERE status = 'DEAD'"));

        refusedWithNothingCreated(withFlyway("db/app-migration"), REFUSAL);
    }

    @Test
    void another_schema_of_spring_flyway_schemas_holding_a_table_is_never_baselined_over() {
        db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA app_audit; CREATE TABLE app_audit.events (id uuid)"));

        refusedWithNothingCreated(withFlyway("db/app-migration")
                .withPropertyValues("spring.flyway.schemas=public,app_audit"), ANY_REFUSAL);
    }

    /** Flyway would refuse over {@code public} anyway; the empty schema is filled by the migrations. */
    @Test
    void an_empty_schema_listed_beside_one_holding_only_the_librarys_does_not_stop_the_baseline() {
        db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA app_audit"));

        withFlyway("db/app-migration").withPropertyValues("spring.flyway.schemas=public,app_audit")
                .run(context -> assertThat(context).hasNotFailed());

        assertThat(tables()).contains("app_orders", "flyway_schema_history");
        assertThat(applied()).containsExactly("0", "1");
    }

    /** Set to false, in any spelling Spring Boot binds, to keep Flyway's refusal of a non-empty schema. */
    @ParameterizedTest
    @ValueSource(strings = {"spring.flyway.baseline-on-migrate=false", "spring.flyway.baselineOnMigrate=false",
            "spring.flyway.baseline_on_migrate=false"})
    void an_application_that_set_baseline_on_migrate_false_itself_is_not_baselined(String setting) {
        refusedWithNothingCreated(withFlyway("db/app-migration").withPropertyValues(setting), REFUSAL);
    }

    @Test
    void the_starter_starts_without_spring_boots_flyway_module() {
        Contexts.on(db).withClassLoader(new FilteredClassLoader("org.springframework.boot.flyway"))
                .run(context -> assertThat(context).hasNotFailed());
    }

    /** An application's Flyway {@code Callback} bean: every event it is called for, in order. */
    static final class RecordingCallback extends BaseCallback {

        final List<Event> events = new CopyOnWriteArrayList<>();

        @Override
        public void handle(Event event, Context context) {
            events.add(event);
        }
    }

    /** Flyway's own refusal stands: the context fails with it, and neither history nor migration is applied. */
    private static void refusedWithNothingCreated(ApplicationContextRunner runner, String refusal) {
        runner.run(context -> assertThat(context).hasFailed().getFailure().rootCause().hasMessageContaining(refusal));
        assertThat(tables()).doesNotContain("flyway_schema_history", "app_orders");
    }

    private static ApplicationContextRunner withFlyway(String location) {
        return Contexts.on(db, FlywayAutoConfiguration.class)
                .withPropertyValues("spring.flyway.locations=classpath:" + location);
    }

    private static List<String> tables() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                .mapTo(String.class).list());
    }

    private static List<String> applied() {
        return db.jdbi().withHandle(h -> h.createQuery(
                        "SELECT version FROM flyway_schema_history WHERE success ORDER BY installed_rank")
                .mapTo(String.class).list());
    }
}
