package io.outboxkit.migrations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.ClaimMode;
import io.outboxkit.core.IdempotentHandler;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.NotInTransactionException;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxCounts;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxRetention;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.core.Outcome;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * README's "Embedding outbox-core", step by step, through the public API only and as the README
 * writes it: the tables in a schema of their own, an order and its event in one transaction, a
 * poller delivering to the application's own publisher, a consumer applying it once however often
 * it comes, and retention and the admin view over the same names.
 */
class EmbeddingWalkthroughTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 8);

    private static final Duration DEADLINE = Duration.ofSeconds(20);

    @Test
    void an_order_written_with_its_event_is_delivered_and_applied_once() {
        OutboxNames names = OutboxNames.inSchema("messaging");
        OutboxMigrations.apply(db.dataSource(), names);
        Jdbi jdbi = db.jdbi();
        jdbi.useHandle(h -> h.execute("""
                CREATE TABLE orders (id uuid PRIMARY KEY, user_id uuid NOT NULL, amount numeric(10,2) NOT NULL, status text NOT NULL);
                CREATE TABLE customer_totals (user_id uuid PRIMARY KEY, order_count int NOT NULL)"""));
        UUID orderId = UUID.randomUUID();
        UUID userId = UUID.randomUUID();
        BigDecimal amount = new BigDecimal("12.50");

        OutboxWriter outbox = OutboxWriter.create(names);
        jdbi.useTransaction(handle -> {
            handle.execute("INSERT INTO orders (id, user_id, amount, status) VALUES (?, ?, ?, 'CREATED')",
                    orderId, userId, amount);
            outbox.write(handle, NewMessage.of("Order", orderId.toString(), "OrderCreated",
                    "{\"order_id\":\"" + orderId + "\",\"user_id\":\"" + userId + "\",\"amount\":" + amount + "}"));
        });

        List<OutboxMessage> broker = new CopyOnWriteArrayList<>();
        MessagePublisher publisher = broker::add;
        try (OutboxPoller poller = OutboxPoller.builder(jdbi, publisher)
                .names(names)
                .batchSize(100)
                .maxAttempts(10)
                .claimMode(ClaimMode.LEASE)
                .build()) {
            poller.start();
            OutboxAdmin admin = OutboxAdmin.create(jdbi, names);
            await().atMost(DEADLINE).until(() -> admin.counts().published() == 1);
        }
        assertThat(broker).singleElement().satisfies(message -> {
            assertThat(message.aggregateId()).isEqualTo(orderId.toString());
            assertThat(message.eventType()).isEqualTo("OrderCreated");
        });

        IdempotentHandler handler = IdempotentHandler.create(jdbi, names, "loyalty", (tx, message) -> tx.execute("""
                INSERT INTO customer_totals (user_id, order_count) VALUES (?, 1)
                ON CONFLICT (user_id) DO UPDATE SET order_count = customer_totals.order_count + 1""", userId));
        OutboxMessage delivered = broker.get(0);
        assertThat(handler.handle(delivered)).isEqualTo(Outcome.PROCESSED);
        assertThat(handler.handle(delivered)).as("the same message delivered again").isEqualTo(Outcome.DUPLICATE);
        int orders = jdbi.withHandle(h -> h.createQuery("SELECT order_count FROM customer_totals WHERE user_id = ?")
                .bind(0, userId).mapTo(Integer.class).one());
        assertThat(orders).as("the customer's orders counted").isEqualTo(1);

        OutboxRetention.Result removed = OutboxRetention.builder(jdbi).names(names)
                .publishedRetention(Duration.ZERO).build().runOnce();
        assertThat(removed.publishedMessages()).isEqualTo(1);
        assertThat(OutboxAdmin.create(jdbi, names).find(delivered.id())).isEmpty();
    }

    @Test
    void a_failed_write_commits_nothing_and_a_write_outside_a_transaction_is_refused() {
        OutboxNames names = OutboxNames.inSchema("refusals");
        OutboxMigrations.apply(db.dataSource(), names);
        Jdbi jdbi = db.jdbi();
        jdbi.useHandle(h -> h.execute("CREATE TABLE refused_orders (id uuid PRIMARY KEY)"));
        OutboxWriter outbox = OutboxWriter.create(names);
        UUID orderId = UUID.randomUUID();

        assertThatThrownBy(() -> jdbi.useTransaction(handle -> {
            handle.execute("INSERT INTO refused_orders (id) VALUES (?)", orderId);
            outbox.write(handle, NewMessage.of("Order", orderId.toString(), "OrderCreated", "{not json"));
        })).isInstanceOf(OutboxException.class).hasMessageContaining("a payload is not valid JSON");
        assertThatThrownBy(() -> jdbi.useHandle(handle ->
                outbox.write(handle, NewMessage.of("Order", orderId.toString(), "OrderCreated", "{}"))))
                .isInstanceOf(NotInTransactionException.class);

        long orders = jdbi.withHandle(h -> h.createQuery("SELECT count(*) FROM refused_orders").mapTo(Long.class).one());
        assertThat(orders).as("orders of the failed transaction").isZero();
        assertThat(OutboxAdmin.create(jdbi, names).counts()).as("messages in the outbox")
                .isEqualTo(new OutboxCounts(0, 0, 0));
    }
}
