package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxSchema;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** replay-cli reads and requeues; it never creates or upgrades the schema of the database it is pointed at. */
class SchemaUntouchedTest {

    /** A database without any outbox: a DB_URL that names the wrong one. */
    @RegisterExtension
    static final PostgresExtension bare = new PostgresExtension(DatabaseSetup.EMPTY, 2);

    /** An outbox installed with another tool, from the SQL OutboxSchema prints: no history of ours. */
    @RegisterExtension
    static final PostgresExtension printedSql = new PostgresExtension(dataSource -> {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute(OutboxSchema.sql(OutboxNames.DEFAULT));
        }
    }, 2);

    @Test
    void pointed_at_a_database_without_an_outbox_it_says_so_and_creates_nothing() {
        List<String> before = tables(bare);

        Cli.Run run = Cli.against(bare).run("list", "--status", "dead");

        assertThat(run.status()).isEqualTo(ReplayCli.EXIT_FAILED);
        assertThat(run.errLines()).singleElement().asString()
                .contains("holds no outbox table outbox in schema public (is it the services' database?); pass "
                        + "--schema/--outbox-table if yours is named otherwise: replay-cli creates nothing");
        assertThat(tables(bare)).isEqualTo(before);
    }

    /** Only an outbox of other names: a service's own, in schema messaging. */
    @RegisterExtension
    static final PostgresExtension named = new PostgresExtension(dataSource -> OutboxMigrations.apply(dataSource,
            Outbox.NAMED), 2);

    @Test
    void pointed_through_its_current_schema_at_an_outbox_of_other_names_it_names_the_table_it_missed_and_the_options() {
        List<String> before = tables(named, "messaging");

        Cli.Run run = Cli.against(named).with("DB_URL", named.jdbcUrl() + (named.jdbcUrl().contains("?") ? "&" : "?")
                + "currentSchema=messaging").run("requeue", "--dead");

        assertThat(run.status()).isEqualTo(ReplayCli.EXIT_FAILED);
        assertThat(run.errLines()).singleElement().asString()
                .contains("holds no outbox table outbox in schema messaging (is it the services' database?); pass "
                        + "--schema/--outbox-table if yours is named otherwise: replay-cli creates nothing")
                .doesNotContain("start a service");
        assertThat(tables(named, "messaging")).isEqualTo(before);
        assertThat(Cli.against(named).run(Outbox.named("requeue", "--dead")).status()).as("named, it is found").isZero();
    }

    @Test
    void an_outbox_installed_by_another_tool_is_read_as_it_is() {
        printedSql.jdbi().useHandle(h -> h.execute("INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, "
                + "payload, status) VALUES (gen_random_uuid(), 'Order', 'o1', 'OrderCreated', '{}', 'DEAD')"));
        List<String> before = tables(printedSql);

        Cli.Run run = Cli.against(printedSql).run("list", "--status", "dead");

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out()).contains("1 DEAD message");
        assertThat(tables(printedSql)).isEqualTo(before);
    }

    private static List<String> tables(PostgresExtension db) {
        return tables(db, "public");
    }

    private static List<String> tables(PostgresExtension db, String schema) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT tablename FROM pg_tables WHERE schemaname = :schema "
                + "ORDER BY 1").bind("schema", schema).mapTo(String.class).list());
    }
}
