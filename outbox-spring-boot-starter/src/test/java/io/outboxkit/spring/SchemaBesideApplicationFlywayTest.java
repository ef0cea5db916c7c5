package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.util.List;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.flyway.autoconfigure.FlywayAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** The library's schema and the application's own Flyway migrations, on one database, in the public schema. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SchemaBesideApplicationFlywayTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY);

    private static ApplicationContextRunner context() {
        return Contexts.on(db, FlywayAutoConfiguration.class)
                .withPropertyValues("spring.flyway.locations=classpath:db/app-migration");
    }

    @Test
    @Order(1)
    void on_an_empty_database_both_apply_each_in_its_own_history() {
        context().run(context -> assertThat(context).hasNotFailed());
        assertThat(tables()).contains("app_orders", "flyway_schema_history", "outbox", "processed_messages",
                "outbox_schema_history");
        assertThat(applied("flyway_schema_history")).containsExactly("1");
        assertThat(applied("outbox_schema_history")).contains("1");
    }

    @Test
    @Order(2)
    void on_a_database_that_has_both_the_next_start_finds_both_current() {
        context().run(context -> assertThat(context).hasNotFailed());
        assertThat(applied("flyway_schema_history")).containsExactly("1");
    }

    private static List<String> tables() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                .mapTo(String.class).list());
    }

    private static List<String> applied(String history) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT version FROM " + history
                        + " WHERE success AND version IS NOT NULL AND version <> '0' ORDER BY installed_rank")
                .mapTo(String.class).list());
    }
}
