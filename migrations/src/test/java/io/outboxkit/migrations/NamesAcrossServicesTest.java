package io.outboxkit.migrations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxSchema;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Audit: outboxes of several services in one database, and a service whose names differ from those
 * its outbox was migrated with. Each test works in a schema of its own.
 */
class NamesAcrossServicesTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 6);

    /**
     * Two services keep two outboxes in one schema (README: "each with its own names"), each giving
     * only its outbox table and channel, so both keep the default processed-messages table, which
     * V1 says several consumers may share (its key is the consumer and the message).
     *
     * <p>Either it migrates (sharing the table), or its start is refused naming the setting to change
     * and the outbox that holds the table.
     *
     * <p>Today the second service's start fails: its version 1 says {@code CREATE TABLE
     * "shared"."processed_messages"} without IF NOT EXISTS (V1__outbox.sql:52), and Flyway reports
     * "relation processed_messages already exists", which names neither the setting nor the other
     * outbox; OutboxNames only checks one outbox's names against each other.
     */
    @Test
    void a_second_outbox_in_a_schema_keeping_the_default_processed_table_migrates_beside_the_first_or_is_refused_naming_the_processed_table() {
        OutboxNames orders = OutboxNames.inSchema("shared").withOutboxTable("orders_outbox").withChannel("orders_outbox");
        OutboxNames billing = OutboxNames.inSchema("shared").withOutboxTable("billing_outbox").withChannel("billing_outbox");
        assertThat(OutboxMigrations.apply(db.dataSource(), orders)).isEqualTo(OutboxSchema.scripts(orders).size());

        Throwable failure = catchThrowable(() -> OutboxMigrations.apply(db.dataSource(), billing));

        if (failure != null) {
            // The other acceptable behaviour: refused before anything is applied, naming the setting to change.
            assertThat(failure.getMessage()).as("the billing service's start, refused").contains("processedTable")
                    .contains("PROCESSED_TABLE").contains(orders.outboxTable());
            boolean nothingCreated = db.jdbi().withHandle(h -> h.createQuery("SELECT to_regclass('shared.billing_outbox') "
                    + "IS NULL AND to_regclass('shared.billing_outbox_schema_history') IS NULL").mapTo(Boolean.class).one());
            assertThat(nothingCreated).as("nothing of the billing outbox created").isTrue();
            return;
        }
        UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create(billing).write(h,
                NewMessage.of("Invoice", "i-1", "InvoiceIssued", "{}")));
        int written = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM shared.billing_outbox WHERE id = :id")
                .bind("id", id).mapTo(Integer.class).one());
        assertThat(written).isEqualTo(1);
    }
}
