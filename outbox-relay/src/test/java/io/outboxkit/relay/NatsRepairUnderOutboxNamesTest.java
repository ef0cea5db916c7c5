package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxEntry;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.PrivateNatsServer;
import java.time.Duration;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Audit: README, "Upgrading with NATS": a message stored before the upgrade with an aggregate id
 * NATS would trim goes DEAD, and "the refusal's last_error gives the statement for its message"
 * to repair its row before a requeue. For a relay whose outbox has other names
 * ({@code OUTBOX_SCHEMA}, {@code OUTBOX_TABLE}), that statement must repair that outbox's row.
 */
class NatsRepairUnderOutboxNamesTest {

    static final OutboxNames NAMES = new OutboxNames("billing", "billing_outbox", "billing_processed", "billing_ch");

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 8);
    @RegisterExtension
    static final Relays relays = new Relays(db, 8);

    final PrivateNatsServer nats = PrivateNatsServer.launch();

    @BeforeAll
    static void the_services_outbox_under_its_names() {
        OutboxMigrations.apply(db.dataSource(), NAMES);
    }

    @AfterEach
    void stopNats() throws Exception {
        nats.close();
    }

    /**
     * The relay gives the publisher its outbox's names, and the statement names that table
     * ({@code "billing"."billing_outbox"}). A statement naming the default {@code outbox}, as it
     * once did whatever the relay's names, updates nothing there (UPDATE 0): the billing row
     * keeps its padded id, and the requeue that follows fails the same way.
     */
    @Test
    void the_repair_statement_in_a_dead_messages_error_repairs_its_row_in_the_relays_outbox() {
        UUID id = UUID.randomUUID();
        db.jdbi().useHandle(h -> h.execute("INSERT INTO billing.billing_outbox (id, aggregate_type, aggregate_id, "
                + "event_type, payload) VALUES (?, 'Invoice', ' invoice-1 ', 'InvoiceIssued', '{}')", id));
        String stream = "AUDIT_" + UUID.randomUUID().toString().substring(0, 8).toUpperCase();
        relays.start(TestRelays.config("http://unused.invalid/messages", "SINK", "nats", "NATS_URL", nats.url(),
                "NATS_STREAM", stream, "MAX_ATTEMPTS", "1", "OUTBOX_SCHEMA", NAMES.schema(),
                "OUTBOX_TABLE", NAMES.outboxTable(), "PROCESSED_TABLE", NAMES.processedTable(),
                "OUTBOX_CHANNEL", NAMES.channel()));
        OutboxAdmin admin = OutboxAdmin.create(db.jdbi(), NAMES);
        await().atMost(Duration.ofSeconds(20)).until(() -> admin.find(id).map(OutboxEntry::status).orElse(null)
                == MessageStatus.DEAD);
        String error = admin.find(id).orElseThrow().lastError();
        Matcher statement = Pattern.compile("outbox row \\((UPDATE .*)\\), then requeued").matcher(error);
        assertThat(statement.find()).as("the error gives a statement: " + error).isTrue();

        db.jdbi().useHandle(h -> h.execute(statement.group(1)));

        String aggregateId = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT aggregate_id FROM billing.billing_outbox WHERE id = :id").bind("id", id).mapTo(String.class).one());
        assertThat(aggregateId).as("the row after the statement the error gave: " + statement.group(1))
                .isEqualTo("invoice-1");
    }
}
