package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.internal.OutboxSql;
import io.outboxkit.core.internal.WaitAnnouncement;
import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * Two services keep two outboxes in one database, each with its own names: each poller delivers
 * its own table's messages only, and a commit to one outbox wakes only its own poller (its own channel,
 * its own announcement that a poller waits, its own wake-up lock). That holds for two tables of the
 * same name in two schemas too, as README recommends ({@code public.outbox} beside {@code billing.outbox}).
 */
class TwoOutboxesTest {

    /** Far longer than the test: a delivery within it was woken by a NOTIFY. */
    private static final Duration POLL_INTERVAL = Duration.ofHours(1);

    private static final OutboxNames ORDERS = OutboxNames.DEFAULT.withOutboxTable("orders_outbox")
            .withProcessedTable("orders_processed").withChannel("orders_outbox");
    private static final OutboxNames BILLING = OutboxNames.inSchema("billing").withChannel("billing_outbox");

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    @BeforeAll
    static void create_both_schemas() throws Exception {
        try (Connection connection = db.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(OutboxSchema.sql(ORDERS));
            statement.execute(OutboxSchema.sql(BILLING));
        }
    }

    @BeforeEach
    void empty_both() {
        db.jdbi().useHandle(h -> h.execute("TRUNCATE " + ORDERS.qualifiedOutboxTable() + ", "
                + BILLING.qualifiedOutboxTable()));
    }

    @Test
    void each_poller_delivers_only_its_own_outbox_and_is_woken_only_by_its_own_commits() {
        RecordingPublisher orders = new RecordingPublisher();
        RecordingPublisher billing = new RecordingPublisher();
        try (OutboxPoller ordersPoller = poller(ORDERS, orders); OutboxPoller billingPoller = poller(BILLING, billing)) {
            ordersPoller.start();
            billingPoller.start();
            UUID firstBill = write(BILLING, "Invoice", "i-0");
            await().atMost(Duration.ofSeconds(10)).until(() -> billing.delivered(firstBill));
            long billingPolls = billingPoller.stats().polls();

            List<UUID> orderIds = new ArrayList<>();
            for (int i = 0; i < 20; i++) { // one commit at a time, each a notification of its own
                UUID id = write(ORDERS, "Order", "o-" + i);
                orderIds.add(id);
                await().atMost(Duration.ofSeconds(10)).until(() -> orders.delivered(id));
            }
            UUID secondBill = write(BILLING, "Invoice", "i-1");
            await().atMost(Duration.ofSeconds(10)).until(() -> billing.delivered(secondBill));

            assertThat(orders.deliveredCount()).isEqualTo(20);
            assertThat(orderIds).allMatch(orders::delivered);
            assertThat(billing.deliveredCount()).as("billing delivered its two messages, none of the orders'").isEqualTo(2);
            assertThat(billingPoller.stats().polls() - billingPolls)
                    .as("20 commits to the orders' outbox did not wake the billing poller: its own commit did, once or twice")
                    .isBetween(1L, 2L);
            assertThat(status(ORDERS)).containsOnly("PUBLISHED").hasSize(20);
            assertThat(status(BILLING)).containsOnly("PUBLISHED").hasSize(2);
        }
    }

    @Test
    void a_commit_notifies_only_the_channel_of_its_own_outbox() throws Exception {
        Jdbi jdbi = db.jdbi();
        try (Connection listener = db.dataSource().getConnection(); Handle orders = jdbi.open(); Handle billing = jdbi.open()) {
            try (Statement statement = listener.createStatement()) {
                statement.execute("LISTEN \"billing_outbox\"");
            }
            // A poller waits on each outbox: commits to both notify, each on its own channel.
            assertThat(announcement(ORDERS).beforeWaiting()).isEqualTo(WaitAnnouncement.Outcome.ANNOUNCED);
            assertThat(announcement(BILLING).beforeWaiting()).isEqualTo(WaitAnnouncement.Outcome.ANNOUNCED);
            int ordersBackend = orders.inTransaction(h -> {
                OutboxWriter.create(ORDERS).write(h, NewMessage.of("Order", "x", "OrderCreated", "{}"));
                return h.createQuery("SELECT pg_backend_pid()").mapTo(Integer.class).one();
            });
            int billingBackend = billing.inTransaction(h -> {
                OutboxWriter.create(BILLING).write(h, NewMessage.of("Invoice", "y", "InvoiceIssued", "{}"));
                return h.createQuery("SELECT pg_backend_pid()").mapTo(Integer.class).one();
            });
            assertThat(ordersBackend).as("two sessions").isNotEqualTo(billingBackend);
            // Notifications come in commit order: once the billing commit's has come, the orders' would have.
            PGNotification[] received = listener.unwrap(PGConnection.class).getNotifications(10_000);
            assertThat(received).extracting(PGNotification::getName).containsOnly("billing_outbox");
            assertThat(received).extracting(PGNotification::getPID).containsExactly(billingBackend)
                    .doesNotContain(ordersBackend);
            statement(listener, "UNLISTEN *");
        }
    }

    @Test
    void a_writer_in_flight_on_one_outbox_keeps_only_that_outboxs_poller_from_announcing() {
        try (Handle orders = db.jdbi().open()) {
            orders.begin();
            OutboxWriter.create(ORDERS).write(orders, NewMessage.of("Order", "x", "OrderCreated", "{}"));

            assertThat(announcement(ORDERS).beforeWaiting()).isEqualTo(WaitAnnouncement.Outcome.WRITER_BUSY);
            assertThat(announcement(BILLING).beforeWaiting()).isEqualTo(WaitAnnouncement.Outcome.ANNOUNCED);
            orders.rollback();
        }
        assertThat(announcement(ORDERS).beforeWaiting()).isEqualTo(WaitAnnouncement.Outcome.ANNOUNCED);
        assertThat(OutboxSql.wakeupLockName(ORDERS)).isNotEqualTo(OutboxSql.wakeupLockName(BILLING));
    }

    @Test
    void a_writer_in_flight_on_an_outbox_of_the_same_name_in_another_schema_does_not_keep_the_default_outboxs_poller_from_announcing() {
        try (Handle billing = db.jdbi().open()) {
            billing.begin();
            OutboxWriter.create(BILLING).write(billing, NewMessage.of("Invoice", "i", "InvoiceIssued", "{}"));

            WaitAnnouncement.Outcome outcome = announcement(OutboxNames.DEFAULT).beforeWaiting();
            billing.rollback();
            assertThat(outcome).as("a commit to billing.outbox in flight says nothing about public.outbox")
                    .isEqualTo(WaitAnnouncement.Outcome.ANNOUNCED);
        }
    }

    @Test
    void while_a_writer_to_an_outbox_of_the_same_name_in_another_schema_is_in_flight_the_default_outboxs_idle_poller_keeps_to_its_poll_interval() {
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), message -> { }).pollInterval(Duration.ofMillis(500)).build();
             Handle billing = db.jdbi().open()) {
            poller.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> poller.waitAnnouncement().announcements() >= 1);
            billing.begin();
            OutboxWriter.create(BILLING).write(billing, NewMessage.of("Invoice", "i", "InvoiceIssued", "{}"));
            long before = poller.stats().polls();

            await().alias("an idle poller of public.outbox at a 500 ms poll interval looks fewer than 20 times in 3 s "
                            + "while a billing.outbox writer is in flight (rather than on its own every few ms)")
                    .during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4))
                    .until(() -> poller.stats().polls() - before < 20);
            billing.rollback();
        }
    }

    private static WaitAnnouncement announcement(OutboxNames names) {
        return new WaitAnnouncement(db.jdbi(), names, POLL_INTERVAL, "test");
    }

    private static void statement(Connection connection, String sql) throws Exception {
        try (Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    private static OutboxPoller poller(OutboxNames names, RecordingPublisher publisher) {
        return OutboxPoller.builder(db.jdbi(), publisher).names(names).pollInterval(POLL_INTERVAL).build();
    }

    private static UUID write(OutboxNames names, String type, String id) {
        return db.jdbi().inTransaction(h -> OutboxWriter.create(names).write(h, NewMessage.of(type, id, "Happened", "{}")));
    }

    private static List<String> status(OutboxNames names) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT status FROM " + names.qualifiedOutboxTable())
                .mapTo(String.class).list());
    }
}
