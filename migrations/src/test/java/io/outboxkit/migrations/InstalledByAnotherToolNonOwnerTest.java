package io.outboxkit.migrations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxSchema;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * README: the outbox installed by another tool (the DBA's psql or Liquibase run of the printed
 * scripts), then "a service of this project started on it" records the version its objects show.
 * The service connects as a role of its own, with the grants it uses and no CREATE on the schema:
 * the outbox is current, nothing is pending, so its start must not need to create anything.
 */
class InstalledByAnotherToolNonOwnerTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 2);

    private static final String ROLE = "outbox_service_role";
    private static final OutboxNames NAMES = OutboxNames.inSchema("installed");

    @BeforeAll
    static void theDbaInstallsTheOutboxWithPsqlAndGrantsTheService() {
        db.jdbi().useHandle(h -> h.execute(OutboxSchema.sql(NAMES))); // every version, as the printed scripts
        db.createLoginRole(ROLE);
        db.jdbi().useHandle(h -> {
            h.execute("GRANT USAGE ON SCHEMA installed TO " + ROLE);
            h.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA installed TO " + ROLE);
        });
    }

    @AfterAll
    static void dropTheRole() {
        db.jdbi().useHandle(h -> {
            h.execute("DROP OWNED BY " + ROLE);
            h.execute("DROP ROLE " + ROLE);
        });
    }

    private static HikariDataSource asTheService() {
        return db.newPoolAs(ROLE, 3);
    }

    @Test
    void it_reads_that_nothing_is_pending() {
        try (HikariDataSource service = asTheService()) {
            assertThat(OutboxMigrations.builder(service).names(NAMES).build().pending()).isZero();
        }
    }

    @Test
    void a_service_whose_role_cannot_create_in_the_schema_starts_on_the_current_outbox() {
        try (HikariDataSource service = asTheService()) {
            assertThatCode(() -> assertThat(OutboxMigrations.apply(service, NAMES)).isZero())
                    .as("nothing is pending: the start needs no CREATE on the schema")
                    .doesNotThrowAnyException();
        }
    }
}
