package io.outboxkit.migrations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxSchema;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import org.flywaydb.core.api.FlywayException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One outbox in a schema of its own, created by the application that writes to it
 * ({@code OutboxNames.inSchema("shop")}, or the starter's {@code outboxkit.schema.name=shop}), and a
 * second process on the same outbox that reaches the schema through its connection: the relay,
 * the consumer and the order service have {@link OutboxNames#DEFAULT} for names and migrate at
 * start, so {@code currentSchema=shop} in their {@code DB_URL} is one way to point them at it.
 * Both name the same, current, tables; the second migration must find nothing to do, not refuse to
 * start (each service's Database.open turns the refusal into "cannot migrate the schema"), whichever
 * of the two migrated first.
 */
class SchemaFromConnectionMigrationTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 4);

    private static final int ALL_SCRIPTS = OutboxSchema.scripts(OutboxNames.DEFAULT).size();

    @Test
    void an_outbox_created_in_its_schema_is_current_for_a_process_whose_connection_is_in_that_schema() {
        assertThat(OutboxMigrations.apply(db.dataSource(), OutboxNames.inSchema("shop"))).isEqualTo(ALL_SCRIPTS);

        try (HikariDataSource relay = db.newPool(2, config -> config.setSchema("shop"))) {
            assertThat(OutboxMigrations.builder(relay).build().pending()).as("pending for the relay's names").isZero();
            assertThat(OutboxMigrations.apply(relay, OutboxNames.DEFAULT)).as("applied at the relay's start").isZero();
        }
        assertThat(OutboxMigrations.apply(db.dataSource(), OutboxNames.inSchema("shop"))).as("and again by the application")
                .isZero();
    }

    @Test
    void an_outbox_created_through_the_connections_schema_is_current_for_a_process_that_names_the_schema() {
        db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA store"));
        try (HikariDataSource relay = db.newPool(2, config -> config.setSchema("store"))) {
            assertThat(OutboxMigrations.apply(relay, OutboxNames.DEFAULT)).isEqualTo(ALL_SCRIPTS);
        }

        assertThat(OutboxMigrations.builder(db.dataSource()).names(OutboxNames.inSchema("store")).build().pending())
                .as("pending for the application's names").isZero();
        assertThat(OutboxMigrations.apply(db.dataSource(), OutboxNames.inSchema("store"))).isZero();
    }

    @Test
    void an_outbox_named_in_public_is_current_for_a_process_with_the_default_names() {
        assertThat(OutboxMigrations.apply(db.dataSource(), OutboxNames.inSchema("public").withOutboxTable("orders_outbox")
                .withProcessedTable("orders_processed"))).isEqualTo(ALL_SCRIPTS);

        assertThat(OutboxMigrations.apply(db.dataSource(), OutboxNames.DEFAULT.withOutboxTable("orders_outbox")
                .withProcessedTable("orders_processed"))).isZero();
    }

    @Test
    void a_script_changed_since_it_was_applied_is_still_refused() {
        OutboxNames names = OutboxNames.inSchema("changed");
        assertThat(OutboxMigrations.apply(db.dataSource(), names)).isEqualTo(ALL_SCRIPTS);
        db.jdbi().useHandle(h -> h.execute("UPDATE changed.outbox_schema_history SET checksum = checksum + 1 WHERE version = '2'"));

        assertThatThrownBy(() -> OutboxMigrations.apply(db.dataSource(), names)).isInstanceOf(FlywayException.class)
                .hasMessageContaining("checksum mismatch");
    }
}
