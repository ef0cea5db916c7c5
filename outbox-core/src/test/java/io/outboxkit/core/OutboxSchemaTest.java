package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.internal.OutboxSql;
import io.outboxkit.testing.ChildJvm;
import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The library's schema, with the names filled in: only the library's objects, in the schema asked for. */
class OutboxSchemaTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    @Test
    void the_scripts_come_in_version_order_with_every_name_filled_in() {
        OutboxNames names = OutboxNames.inSchema("messaging").withOutboxTable("orders_outbox").withChannel("orders");
        List<OutboxSchema.Script> scripts = OutboxSchema.scripts(names);
        assertThat(scripts).extracting(OutboxSchema.Script::version).startsWith(1).isSorted().doesNotHaveDuplicates();
        assertThat(scripts.get(0).description()).isEqualTo("outbox");
        String sql = OutboxSchema.sql(names);
        assertThat(sql).doesNotContain("${")
                .contains("CREATE SCHEMA IF NOT EXISTS \"messaging\"")
                .contains("CREATE TABLE \"messaging\".\"orders_outbox\"")
                .contains("pg_notify('orders', '')")
                .contains("\"orders_outbox_pending_seq\"")
                .doesNotContain("\"outbox\"");
        assertThat(scripts).extracting(OutboxSchema.Script::description).containsExactly("outbox", "dead_index",
                "notify_only_while_waiting", "wakeup_lock_of_the_table", "wakeup_table_qualified");
        assertThat(scripts.get(2).sql())
                .contains("CREATE TABLE \"messaging\".\"orders_outbox_wakeup\"")
                .contains("CREATE OR REPLACE FUNCTION \"messaging\".\"orders_outbox_notify\"()")
                .contains("pg_advisory_xact_lock_shared(hashtextextended('outboxkit wakeup \"messaging\".\"orders_outbox\"', 0))")
                .contains("pg_notify('orders', '')");
        assertThat(scripts.get(3).sql())
                .contains("CREATE OR REPLACE FUNCTION \"messaging\".\"orders_outbox_notify\"()")
                .contains("pg_advisory_xact_lock_shared(" + OutboxSql.WAKEUP_LOCK_CLASS + ", TG_RELID::integer)")
                .contains("pg_advisory_xact_lock_shared(hashtextextended('outboxkit wakeup \"messaging\".\"orders_outbox\"', 0))")
                .doesNotContain("TG_TABLE_NAME")
                .contains("FROM \"messaging\".\"orders_outbox_wakeup\"")
                .contains("pg_notify('orders', '')");
        assertThat(scripts.get(4).sql()).as("the wake-up table resolved once, when migrating, then written qualified")
                .contains("CREATE OR REPLACE FUNCTION \"messaging\".\"orders_outbox_notify\"()")
                .contains("pg_advisory_xact_lock_shared(" + OutboxSql.WAKEUP_LOCK_CLASS + ", TG_RELID::integer)")
                .contains("WHERE c.oid = '\"messaging\".\"orders_outbox_wakeup\"'::regclass")
                .doesNotContain("SET search_path")
                .contains("pg_notify('orders', '')");
        assertThat(OutboxSchema.sql(OutboxNames.DEFAULT)).doesNotContain("CREATE SCHEMA");
    }

    @Test
    void applied_to_an_empty_schema_it_creates_the_two_tables_their_indexes_the_trigger_and_the_wakeup_table_and_nothing_else()
            throws Exception {
        OutboxNames names = OutboxNames.inSchema("schema_test").withChannel("schema_test");
        try (Connection connection = db.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(OutboxSchema.sql(names));
        }
        assertThat(objects("SELECT c.relname || ':' || c.relkind::text FROM pg_class c "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'schema_test'"))
                .containsExactlyInAnyOrder("outbox:r", "processed_messages:r", "outbox_pkey:i", "outbox_seq_key:i",
                        "outbox_pending_seq:i", "outbox_undelivered_aggregate:i", "outbox_published_at:i", "outbox_dead_seq:i",
                        "outbox_seq_seq:S", "processed_messages_pkey:i", "processed_messages_processed_at:i", "outbox_wakeup:r",
                        "outbox_wakeup_pkey:i");
        assertThat(objects("SELECT waiting_until::text FROM schema_test.outbox_wakeup")).as("its one row: nobody waits")
                .containsExactly("-infinity");
        assertThat(objects("SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                + "WHERE n.nspname = 'schema_test'")).containsExactly("outbox_notify");
        assertThat(objects("SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'schema_test' AND NOT t.tgisinternal"))
                .containsExactly("outbox_notify_on_insert");
    }

    @Test
    void printed_from_the_command_line_it_takes_each_name_as_an_option() {
        assertThat(OutboxSchema.namesFrom(new String[] {"--schema", "m", "--outbox-table", "t", "--processed-table", "p",
                "--channel", "c"})).isEqualTo(new OutboxNames("m", "t", "p", "c"));
        assertThat(OutboxSchema.namesFrom(new String[0])).isEqualTo(OutboxNames.DEFAULT);
        assertThatThrownBy(() -> OutboxSchema.namesFrom(new String[] {"--schema"})).hasMessageContaining("--schema needs a value");
        assertThatThrownBy(() -> OutboxSchema.namesFrom(new String[] {"--table", "x"})).hasMessageContaining("unknown option --table");
        assertThatThrownBy(() -> OutboxSchema.namesFrom(new String[] {"--schema", "Bad Name"}))
                .hasMessageContaining("schema must be a lowercase SQL identifier");
        assertThat(OutboxSchema.text(new String[] {"--version", "1", "--schema", "m"}))
                .isEqualTo(OutboxSchema.scripts(OutboxNames.inSchema("m")).get(0).sql());
        assertThat(OutboxSchema.text(new String[] {"--version", "3", "--outbox-table", "t"}))
                .isEqualTo(OutboxSchema.scripts(OutboxNames.DEFAULT.withOutboxTable("t")).get(2).sql())
                .contains("\"t_wakeup\"");
        assertThatThrownBy(() -> OutboxSchema.text(new String[] {"--version", "999"})).hasMessageContaining("no version 999");
    }

    @Test
    void asked_for_help_on_the_command_line_it_prints_its_usage_and_exits_0() throws Exception {
        try (ChildJvm help = ChildJvm.start(OutboxSchema.class.getName(), Map.of(), List.of(), "--help")) {
            assertThat(help.waitFor(Duration.ofSeconds(30))).as(help::output).isZero();
            assertThat(help.output()).startsWith("usage: java -cp outbox-core.jar io.outboxkit.core.OutboxSchema")
                    .contains("--schema S").contains("--version N").doesNotContain("needs a value");
        }
    }

    private static List<String> objects(String query) {
        return db.jdbi().withHandle(h -> h.createQuery(query).mapTo(String.class).list());
    }
}
