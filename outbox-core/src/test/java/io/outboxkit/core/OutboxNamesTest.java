package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Names are checked identifiers, written quoted: no name can change the SQL it is put in. */
class OutboxNamesTest {

    @Test
    void the_defaults_are_the_tables_of_the_current_schema() {
        assertThat(OutboxNames.DEFAULT.schema()).isNull();
        assertThat(OutboxNames.DEFAULT.outboxTable()).isEqualTo(OutboxNames.DEFAULT_OUTBOX_TABLE).isEqualTo("outbox");
        assertThat(OutboxNames.DEFAULT.processedTable()).isEqualTo(OutboxNames.DEFAULT_PROCESSED_TABLE)
                .isEqualTo("processed_messages");
        assertThat(OutboxNames.DEFAULT.channel()).isEqualTo(OutboxNames.DEFAULT_CHANNEL).isEqualTo("outbox");
        assertThat(OutboxNames.DEFAULT.qualifiedOutboxTable()).isEqualTo("\"outbox\"");
        assertThat(OutboxNames.DEFAULT.qualifiedProcessedTable()).isEqualTo("\"processed_messages\"");
    }

    @Test
    void a_schema_qualifies_both_tables_and_each_name_can_be_changed_alone() {
        OutboxNames names = OutboxNames.inSchema("messaging").withOutboxTable("orders_outbox")
                .withProcessedTable("orders_processed").withChannel("orders_wakeup");
        assertThat(names.qualifiedOutboxTable()).isEqualTo("\"messaging\".\"orders_outbox\"");
        assertThat(names.qualifiedProcessedTable()).isEqualTo("\"messaging\".\"orders_processed\"");
        assertThat(names.channel()).isEqualTo("orders_wakeup");
        assertThat(names.withSchema(null).qualifiedOutboxTable()).isEqualTo("\"orders_outbox\"");
    }

    @Test
    void the_trigger_function_is_the_one_the_schemas_scripts_create_for_the_outbox_table() {
        OutboxNames names = OutboxNames.inSchema("messaging").withOutboxTable("orders_outbox");

        assertThat(names.notifyFunction()).isEqualTo("orders_outbox_notify");
        assertThat(OutboxSchema.sql(names)).contains("CREATE FUNCTION \"messaging\".\"orders_outbox_notify\"()");
    }

    @Test
    void a_name_that_is_not_a_plain_lowercase_identifier_is_refused_with_the_setting_it_was_given_for() {
        List<String> bad = List.of("", " ", "Outbox", "1outbox", "out-box", "out box", "outbox;drop table x",
                "\"outbox\"", "outbox\"; --", "übox", "a".repeat(64));
        for (String name : bad) {
            assertThatThrownBy(() -> OutboxNames.inSchema(name)).as(name).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("schema must be a lowercase SQL identifier");
            assertThatThrownBy(() -> OutboxNames.DEFAULT.withOutboxTable(name)).as(name)
                    .hasMessageContaining("outboxTable must be a lowercase SQL identifier");
            assertThatThrownBy(() -> OutboxNames.DEFAULT.withProcessedTable(name)).as(name)
                    .hasMessageContaining("processedTable must be a lowercase SQL identifier");
            assertThatThrownBy(() -> OutboxNames.DEFAULT.withChannel(name)).as(name)
                    .hasMessageContaining("channel must be a lowercase SQL identifier");
        }
        assertThatThrownBy(() -> OutboxNames.DEFAULT.withOutboxTable(null)).hasMessageContaining("outboxTable");
    }

    @Test
    void table_names_leave_room_for_the_names_derived_from_them() {
        String longest = "o".repeat(63 - "_undelivered_aggregate".length());
        assertThat(OutboxNames.DEFAULT.withOutboxTable(longest).outboxTable()).hasSize(41);
        assertThatThrownBy(() -> OutboxNames.DEFAULT.withOutboxTable(longest + "o"))
                .hasMessageContaining("outboxTable must be a lowercase SQL identifier of 1 to 41 characters");
        assertThatThrownBy(() -> OutboxNames.DEFAULT.withProcessedTable("p".repeat(51)))
                .hasMessageContaining("1 to 50 characters");
    }

    @Test
    void the_two_tables_must_differ_and_a_schema_may_not_be_one_postgresql_reserves() {
        assertThatThrownBy(() -> OutboxNames.DEFAULT.withProcessedTable("outbox"))
                .hasMessageContaining("outboxTable and processedTable must differ");
        assertThatThrownBy(() -> OutboxNames.inSchema("pg_outbox")).hasMessageContaining("must not start with pg_");
    }

    @Test
    void names_whose_derived_tables_or_indexes_would_collide_are_refused_before_any_script_runs() {
        assertThatThrownBy(() -> OutboxNames.DEFAULT.withProcessedTable("outbox_wakeup"))
                .isInstanceOf(InvalidOptionException.class)
                .hasMessageContaining("processedTable outbox_wakeup and outboxTable outbox would both name outbox_wakeup");
        assertThatThrownBy(() -> OutboxNames.DEFAULT.withProcessedTable("outbox_pending_seq")).hasMessageContaining("would both name");
        assertThatThrownBy(() -> OutboxNames.DEFAULT.withOutboxTable("events").withProcessedTable("events_schema_history"))
                .hasMessageContaining("would both name events_schema_history");
        assertThatThrownBy(() -> OutboxNames.DEFAULT.withOutboxTable("processed_messages_processed_at"))
                .hasMessageContaining("would both name processed_messages_processed_at");
        assertThat(OutboxNames.DEFAULT.withOutboxTable("events").withProcessedTable("events_done").processedTable())
                .isEqualTo("events_done");
    }
}
