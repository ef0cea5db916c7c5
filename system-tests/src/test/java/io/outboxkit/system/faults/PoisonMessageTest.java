package io.outboxkit.system.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.system.Http;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.ServiceProcess;
import io.outboxkit.system.TestDatabase;
import io.outboxkit.testing.PostgresExtension;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Fault 6: a poison message, an {@code OrderCreated} whose payload lacks the amount, which the
 * consumer refuses every time (422 / "failed"). With MAX_ATTEMPTS=3 it goes DEAD after three
 * attempts; {@code replay-cli list --status dead} shows it with its last error; the next message of
 * its aggregate is held back (ordering is on and a DEAD message blocks its aggregate) while every
 * other aggregate flows. Requeued while the cause remains, it goes DEAD again; with its payload
 * repaired and requeued it is delivered, and the held-back message follows, in order.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class PoisonMessageTest {

    private static final Map<String, String> RELAY = Faults.relayEnv(Map.of("MAX_ATTEMPTS", "3", "HTTP_TIMEOUT_MS", "10000", "LEASE_MS", "20000"));
    private static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(TestDatabase::createSchemas, 3);

    private RunningSystem system;
    private LoadGenerator load;

    @AfterEach
    void stopEverything() throws Exception {
        Faults.closeAll(load, system);
    }

    @Test
    void a_poison_message_goes_dead_holds_back_only_its_aggregate_and_is_recovered_by_requeue() throws Exception {
        TestDatabase database = TestDatabase.of(db);
        system = new RunningSystem(database, "PoisonMessageTest").withRelayEnv(RELAY)
                .withServiceEnv(Faults.SERVICE_ENV).start(1);
        load = LoadGenerator.start(system.orderUrl(""), LoadGenerator.Options.defaults());
        load.awaitMoreOrders(20, Duration.ofSeconds(30));

        UUID order = UUID.randomUUID();
        UUID user = UUID.randomUUID();
        OutboxWriter writer = OutboxWriter.create();
        UUID poison = database.jdbi().inTransaction(h -> writer.write(h, NewMessage.of("Order", order.toString(),
                "OrderCreated", "{\"order_id\": \"" + order + "\", \"user_id\": \"" + user + "\"}")));
        UUID heldBack = database.jdbi().inTransaction(h -> writer.write(h, NewMessage.of("Order", order.toString(),
                "OrderPaid", "{\"order_id\": \"" + order + "\", \"user_id\": \"" + user + "\"}")));

        // DEAD after MAX_ATTEMPTS, with the consumer's reason as its last error.
        awaitDead(database, poison, OffsetDateTime.now().minusYears(1));
        assertThat(row(database, poison).attempts()).isEqualTo(3);
        assertThat(row(database, poison).lastError()).contains("amount is required");

        ServiceProcess.Result table = replay("list", "--status", "dead");
        assertThat(table.exitCode()).as(table.output()).isZero();
        assertThat(table.output().lines().filter(l -> l.startsWith(poison.toString())).findFirst())
                .as("the table lists the poison message:\n%s", table.output())
                .hasValueSatisfying(line -> assertThat(line).contains("DEAD").contains("OrderCreated").contains("DeliveryException"));
        ServiceProcess.Result json = replay("list", "--status", "dead", "--json");
        assertThat(json.exitCode()).as(json.output()).isZero();
        JsonNode entry = JSON.readTree(json.output().lines().filter(l -> l.contains(poison.toString())).findFirst()
                .orElseThrow(() -> new AssertionError("not in list --json:\n" + json.output())));
        assertThat(entry.path("status").asText()).isEqualTo("DEAD");
        assertThat(entry.path("last_error").asText()).contains("amount is required");

        // Only its own aggregate waits: orders placed after it died are delivered, the next message of its order is not tried.
        requireOthersFlowWhileHeldBack(database, poison, heldBack);

        // Requeued with the cause still there: three more attempts, DEAD again; the held-back message still waits.
        OffsetDateTime requeued = now(database);
        assertThat(replay("requeue", "--id", poison.toString()).output()).contains("requeued 1 message");
        awaitDead(database, poison, requeued);
        requireOthersFlowWhileHeldBack(database, poison, heldBack);

        // The cause repaired (the payload gets its amount), requeued: delivered, and the held-back message after it.
        database.jdbi().useHandle(h -> h.createUpdate("UPDATE outbox SET payload = payload || '{\"amount\": 12.34}' WHERE id = :id")
                .bind("id", poison).execute());
        assertThat(replay("requeue", "--id", poison.toString()).output()).contains("requeued 1 message");
        await("the repaired message and then the held-back one are delivered").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> "PUBLISHED".equals(row(database, heldBack).status()));
        Row repaired = row(database, poison);
        Row followed = row(database, heldBack);
        assertThat(repaired.status()).isEqualTo("PUBLISHED");
        assertThat(followed.publishedAt()).as("the held-back message is delivered after the repaired one")
                .isAfterOrEqualTo(repaired.publishedAt());
        JsonNode view = Http.get(system.consumerUrl("/orders/" + order + "/status")).json();
        assertThat(view.path("status").asText()).as("consumer's view of the poisoned order: %s", view).isEqualTo("PAID");
        assertThat(view.path("last_sequence").asLong()).isEqualTo(followed.seq());
        JsonNode customer = Http.get(system.consumerUrl("/customers/" + user)).json();
        assertThat(customer.path("order_count").asLong()).isEqualTo(1);
        assertThat(customer.path("total_amount").decimalValue()).isEqualByComparingTo(new BigDecimal("12.34"));

        load.stop();
        load.settle(Faults.SETTLE);
        Invariants.verify(system, load, Faults.DRAIN, Set.of());
    }

    /** Orders placed from now on reach the consumer while the held-back message stays PENDING, never tried. */
    private void requireOthersFlowWhileHeldBack(TestDatabase database, UUID poison, UUID heldBack) {
        long lastSeq = database.jdbi().withHandle(h -> h.createQuery("SELECT max(seq) FROM outbox").mapTo(Long.class).one());
        load.awaitMoreOrders(30, Duration.ofSeconds(30));
        long after = database.jdbi().withHandle(h -> h.createQuery("SELECT max(seq) FROM outbox").mapTo(Long.class).one());
        await("messages of other aggregates written after the poison died are delivered").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> database.jdbi().withHandle(h -> h.createQuery("""
                                SELECT count(*) FROM outbox
                                WHERE seq > :from AND seq <= :to AND status <> 'PUBLISHED' AND id NOT IN (:poison, :held)""")
                        .bind("from", lastSeq).bind("to", after).bind("poison", poison).bind("held", heldBack)
                        .mapTo(Long.class).one()) == 0);
        Row held = row(database, heldBack);
        assertThat(held.status()).as("the next message of the poisoned order is held back").isEqualTo("PENDING");
        assertThat(held.attempts()).as("and never handed to the consumer").isZero();
        assertThat(row(database, poison).status()).isEqualTo("DEAD");
    }

    private static void awaitDead(TestDatabase database, UUID id, OffsetDateTime after) {
        await("message " + id + " DEAD").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    Row row = row(database, id);
                    return "DEAD".equals(row.status()) && row.availableAt().isAfter(after);
                });
    }

    private ServiceProcess.Result replay(String... args) {
        return ServiceProcess.run("replay-cli", system.env(Map.of()), args);
    }

    private static OffsetDateTime now(TestDatabase database) {
        return database.jdbi().withHandle(h -> h.createQuery("SELECT now()").mapTo(OffsetDateTime.class).one());
    }

    private record Row(String status, int attempts, String lastError, long seq, OffsetDateTime availableAt,
                       OffsetDateTime publishedAt) {
    }

    private static Row row(TestDatabase database, UUID id) {
        return database.jdbi().withHandle(h -> h.createQuery(
                        "SELECT status, attempts, last_error, seq, available_at, published_at FROM outbox WHERE id = :id")
                .bind("id", id)
                .map((rs, ctx) -> new Row(rs.getString("status"), rs.getInt("attempts"), rs.getString("last_error"),
                        rs.getLong("seq"), rs.getObject("available_at", OffsetDateTime.class),
                        rs.getObject("published_at", OffsetDateTime.class)))
                .one());
    }
}
