package io.outboxkit.migrations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxSchema;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.migration.JavaMigration;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Least-privilege roles as a DBA sets them up: a migration role that owns the tables (not a
 * superuser) and a writer role for the business transactions. When the migration waits for a
 * writer's open transaction, its message must still tell the operator which session holds the
 * outbox (its pid and role), and say that what it does is hidden from the migration role, not
 * show an unknown state and a made-up "0 s".
 */
class LockHoldersAsOwnerRoleTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 2);

    private static final String MIGRATOR = "outbox_migrator_role";
    private static final String WRITER = "outbox_writer_role";
    private static final OutboxNames NAMES = OutboxNames.inSchema("held");

    @BeforeAll
    static void roles() {
        List.of(MIGRATOR, WRITER).forEach(db::createLoginRole);
        db.jdbi().useHandle(h -> {
            String database = h.createQuery("SELECT current_database()").mapTo(String.class).one();
            h.execute("GRANT CREATE ON DATABASE \"" + database + "\" TO " + MIGRATOR);
        });
    }

    @AfterAll
    static void dropRoles() {
        db.jdbi().useHandle(h -> {
            h.execute("DROP SCHEMA held CASCADE");
            for (String role : List.of(WRITER, MIGRATOR)) {
                h.execute("DROP OWNED BY " + role);
                h.execute("DROP ROLE " + role);
            }
        });
    }

    private static HikariDataSource as(String role) {
        return db.newPoolAs(role, 3);
    }

    @Test
    void the_lock_holders_message_of_a_non_superuser_migration_role_names_the_writers_session_and_what_it_cannot_see() {
        try (HikariDataSource migrator = as(MIGRATOR); HikariDataSource writer = as(WRITER)) {
            // An earlier release's schema, version 1, created by the migration role.
            List<OutboxSchema.Script> earlier = OutboxSchema.scripts(NAMES).subList(0, 1);
            SharedSchemaFlyway.migrate(Flyway.configure(OutboxMigrations.class.getClassLoader()).dataSource(migrator)
                    .table(OutboxMigrations.defaultHistoryTable(NAMES)).locations(new String[0]).failOnMissingLocations(false)
                    .schemas("held").defaultSchema("held")
                    .javaMigrations(earlier.stream().map(ScriptMigration::new).toArray(JavaMigration[]::new)));
            Jdbi.create(migrator).useHandle(h -> {
                h.execute("GRANT USAGE ON SCHEMA held TO " + WRITER);
                h.execute("GRANT INSERT ON held.outbox TO " + WRITER);
            });

            OutboxMigrations briefly = OutboxMigrations.builder(migrator).names(NAMES)
                    .lockRetry(Duration.ofMillis(200), 1, Duration.ofMillis(50)).build();
            try (Handle inProgress = Jdbi.create(writer).open()) {
                inProgress.begin();
                OutboxWriter.create(NAMES).write(inProgress, NewMessage.of("Order", "o-1", "OrderCreated", "{}"));
                int holder = inProgress.createQuery("SELECT pg_backend_pid()").mapTo(Integer.class).one();

                assertThatThrownBy(briefly::apply).isInstanceOf(FlywayException.class)
                        .hasMessageContaining("held by pid " + holder + ", role '" + WRITER + "'")
                        .hasMessageContaining("its state not visible to this role (grant it pg_read_all_stats)")
                        .hasMessageNotContaining("null")
                        .hasMessageNotContaining("transaction open 0 s");
                inProgress.rollback();
            }
        }
    }
}
