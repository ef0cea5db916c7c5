package io.outboxkit.migrations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import org.flywaydb.core.api.FlywayException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The migrating role of README's "Roles and grants": CREATE on the database for names with a
 * schema, CREATE on the schema for names in an existing one (the default names: public, where
 * PostgreSQL 15 and later grant no role CREATE by default, as this database is set up on every
 * version); without it, a message naming the role, the schema and the grant.
 */
class MigratingRoleGrantsTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 2);

    private static final String ROLE = "outbox_migrating_role";

    @BeforeEach
    void aMigratingRoleWithCreateOnTheDatabase() {
        db.createLoginRole(ROLE);
        db.jdbi().useHandle(h -> {
            h.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC"); // PostgreSQL 15's default, on 13 and 14 too
            h.execute("GRANT CREATE ON DATABASE \"" + h.createQuery("SELECT current_database()").mapTo(String.class).one()
                    + "\" TO " + ROLE);
        });
    }

    @AfterEach
    void dropTheRole() {
        db.jdbi().useHandle(h -> {
            h.execute("DROP SCHEMA IF EXISTS billing CASCADE");
            h.execute("DROP OWNED BY " + ROLE);
            h.execute("DROP ROLE " + ROLE);
        });
    }

    @Test
    void a_role_with_create_on_the_database_migrates_names_with_a_schema() {
        try (HikariDataSource migrator = db.newPoolAs(ROLE, 2)) {
            assertThat(OutboxMigrations.apply(migrator, OutboxNames.inSchema("billing"))).isPositive();
        }
    }

    @Test
    void a_role_without_create_on_the_schema_is_told_the_grant_it_needs() {
        try (HikariDataSource migrator = db.newPoolAs(ROLE, 2)) {
            assertThatThrownBy(() -> OutboxMigrations.apply(migrator, OutboxNames.DEFAULT))
                    .isInstanceOf(FlywayException.class)
                    .hasMessageStartingWith("could not migrate the outbox \"outbox\" (history outbox_schema_history): "
                            + "PostgreSQL refused a privilege (")
                    .hasMessageContaining("role " + ROLE + " may not create in schema public: GRANT CREATE ON SCHEMA "
                            + "\"public\" TO \"" + ROLE + "\"");
        }
    }

    @Test
    void with_create_on_the_schema_the_role_migrates_the_default_names() {
        db.jdbi().useHandle(h -> h.execute("GRANT CREATE ON SCHEMA public TO " + ROLE));
        try (HikariDataSource migrator = db.newPoolAs(ROLE, 2)) {
            assertThat(OutboxMigrations.apply(migrator, OutboxNames.DEFAULT)).isPositive();
        }
    }
}
