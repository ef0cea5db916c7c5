package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.flyway.autoconfigure.FlywayAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * An application that ran the starter before it had Flyway migrations of its own (or with
 * {@code spring.flyway.enabled=false}) has the library's tables in its schema and no
 * {@code flyway_schema_history}; when it adds its first migrations, they apply: its Flyway baselines
 * at version 0. Never over a schema holding anything of the application's, nor over a version 0.
 */
class ApplicationFlywayAddedLaterTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY);

    private static final String REFUSAL = "Found non-empty schema(s) \"public\" but no schema history table";

    @BeforeEach
    void startsWithTheLibrarysTablesOnly() {
        db.jdbi().useHandle(h -> h.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public"));
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

    @Test
    void a_schema_that_also_holds_a_table_of_the_applications_is_never_baselined() {
        db.jdbi().useHandle(h -> h.execute("CREATE TABLE customers (id uuid PRIMARY KEY)"));

        withFlyway("db/app-migration").run(context -> assertThat(context).hasFailed()
                .getFailure().rootCause().hasMessageContaining(REFUSAL));

        assertThat(tables()).doesNotContain("flyway_schema_history", "app_orders");
    }

    @Test
    void an_application_whose_first_migration_is_version_0_is_not_baselined_over_it() {
        withFlyway("db/app-migration-from-zero").run(context -> assertThat(context).hasFailed()
                .getFailure().rootCause().hasMessageContaining(REFUSAL));

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
