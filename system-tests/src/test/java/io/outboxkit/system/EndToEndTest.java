package io.outboxkit.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.testing.PostgresExtension;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole system as a user runs it: three separate processes from their jars, one database,
 * driven only over HTTP (the database is read only to count rows for the bad-input checks).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EndToEndTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(TestDatabase::createSchemas, 4);

    private static final List<UUID> USERS = List.of(UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID(),
            UUID.randomUUID(), UUID.randomUUID());

    private static RunningSystem system;
    /** What the order service told us: order id → (user, amount, final status). */
    private static final Map<UUID, PlacedOrder> placed = new ConcurrentHashMap<>();

    record PlacedOrder(UUID user, BigDecimal amount, String status) {
    }

    @BeforeAll
    static void startSystem() {
        system = new RunningSystem(db).start();
    }

    @AfterAll
    static void stopSystem() throws InterruptedException {
        if (system != null) {
            system.close();
        }
    }

    @Test
    @Order(1)
    void every_event_of_orders_paid_and_cancelled_is_processed_exactly_once_in_effect() {
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            ids.add(createOrder(USERS.get(i % USERS.size())));
        }
        for (int i = 0; i < ids.size(); i++) {
            if (i % 3 == 0) {
                transition(ids.get(i), "pay");
            }
            if (i % 4 == 0) {
                transition(ids.get(i), "cancel");
            }
        }
        awaitConsumerAgrees();
    }

    @Test
    @Order(2)
    void a_replayed_duplicate_is_skipped_and_changes_nothing() {
        Map<UUID, JsonNode> before = customerViews();
        ServiceProcess.Result result = ServiceProcess.run("replay-cli", system.env(Map.of()),
                "duplicate", "--consumer-url", system.consumerUrl("/messages"));
        assertThat(result.exitCode()).as(result.output()).isZero();
        assertThat(result.output()).contains("processed").contains("duplicate");
        assertThat(customerViews()).isEqualTo(before);
        String id = result.output().replaceAll("(?s).*?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}).*", "$1");
        assertThat(system.consumer().output()).as("the quick start's lines, from the consumer itself")
                .contains("PROCESSING " + id).contains("SKIPPING duplicate message " + id);
    }

    @Test
    @Order(3)
    void killing_the_relay_with_sigkill_mid_stream_and_starting_it_again_loses_nothing() throws Exception {
        Thread producer = new Thread(() -> {
            for (int i = 0; i < 150; i++) {
                UUID id = createOrder(USERS.get(i % USERS.size()));
                if (i % 5 == 0) {
                    transition(id, "pay");
                }
            }
        });
        producer.start();
        await().atMost(Duration.ofSeconds(60)).until(() -> placed.size() >= 90);
        system.killAllRelays();
        system.startRelay();
        producer.join(120_000);
        assertThat(producer.isAlive()).isFalse();
        awaitConsumerAgrees();
    }

    @Test
    @Order(4)
    void bad_inputs_get_a_4xx_json_error_and_write_nothing() {
        long ordersBefore = count("orders");
        long outboxBefore = count("outbox");
        String url = system.orderUrl("/orders");
        List<Http.Response> responses = List.of(
                Http.postJson(url, "{not json"),
                Http.post(url, "text/plain", "{\"user_id\":\"" + USERS.get(0) + "\",\"amount\":1}"),
                Http.postJson(url, "{\"amount\": 10}"),
                Http.postJson(url, "{\"user_id\": \"not-a-uuid\", \"amount\": 10}"),
                Http.postJson(url, "{\"user_id\": \"" + USERS.get(0) + "\"}"),
                Http.postJson(url, "{\"user_id\": \"" + USERS.get(0) + "\", \"amount\": \"10\"}"),
                Http.postJson(url, "{\"user_id\": \"" + USERS.get(0) + "\", \"amount\": 0}"),
                Http.postJson(url, "{\"user_id\": \"" + USERS.get(0) + "\", \"amount\": -5}"),
                Http.postJson(url, "{\"user_id\": \"" + USERS.get(0) + "\", \"amount\": 1.234}"),
                Http.postJson(url, "{\"user_id\": \"" + USERS.get(0) + "\", \"amount\": 100000000}"),
                Http.postJson(url, "{\"user_id\": \"" + USERS.get(0) + "\", \"amount\": 10, \"extra\": 1}"),
                Http.postJson(url, "{\"user_id\": \"" + USERS.get(0) + "\", \"amount\": 1e999}"),
                Http.postJson(url, "{\"user_id\": \"" + USERS.get(0) + "\", \"amount\": 10, \"pad\": \""
                        + "x".repeat(200_000) + "\"}"),
                Http.postJson(system.orderUrl("/orders/" + UUID.randomUUID() + "/pay"), ""),
                Http.get(system.orderUrl("/orders/" + UUID.randomUUID())),
                Http.get(system.orderUrl("/orders/not-a-uuid")),
                Http.postJson(system.consumerUrl("/messages"), "{\"id\": \"nope\"}"),
                Http.postJson(system.consumerUrl("/messages"), "[]"));
        for (Http.Response response : responses) {
            assertThat(response.status()).as(response.text()).isBetween(400, 499);
            assertThat(response.json().path("error").asText()).as(response.text()).isNotBlank();
            assertThat(response.text()).doesNotContain("Exception").doesNotContain("\tat ");
        }
        assertThat(count("orders")).isEqualTo(ordersBefore);
        assertThat(count("outbox")).isEqualTo(outboxBefore);
    }

    // --- driving the order service -------------------------------------------------------------

    private static UUID createOrder(UUID user) {
        BigDecimal amount = BigDecimal.valueOf(ThreadLocalRandom.current().nextInt(100, 100_000), 2);
        Http.Response response = Http.postJson(system.orderUrl("/orders"),
                "{\"user_id\": \"" + user + "\", \"amount\": " + amount.toPlainString() + "}");
        assertThat(response.status()).as(response.text()).isEqualTo(201);
        UUID id = UUID.fromString(response.json().get("id").asText());
        placed.put(id, new PlacedOrder(user, amount, "CREATED"));
        return id;
    }

    private static void transition(UUID id, String action) {
        Http.Response response = Http.postJson(system.orderUrl("/orders/" + id + "/" + action), "");
        assertThat(response.status()).as(response.text()).isEqualTo(200);
        PlacedOrder before = placed.get(id);
        placed.put(id, new PlacedOrder(before.user(), before.amount(), response.json().get("status").asText()));
    }

    // --- what the consumer must agree with -----------------------------------------------------

    /** Waits until the consumer's views equal what the order service reported, exactly once in effect. */
    private static void awaitConsumerAgrees() {
        await("consumer agrees with the order service").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250))
                .untilAsserted(() -> {
                    Map<UUID, BigDecimal> totals = new HashMap<>();
                    Map<UUID, Long> counts = new HashMap<>();
                    placed.values().forEach(o -> {
                        totals.merge(o.user(), o.amount(), BigDecimal::add);
                        counts.merge(o.user(), 1L, Long::sum);
                    });
                    for (UUID user : USERS) {
                        JsonNode view = Http.get(system.consumerUrl("/customers/" + user)).json();
                        assertThat(view.get("order_count").asLong()).as("orders of %s", user).isEqualTo(counts.getOrDefault(user, 0L));
                        assertThat(view.get("total_amount").decimalValue()).as("total of %s", user)
                                .isEqualByComparingTo(totals.getOrDefault(user, BigDecimal.ZERO));
                    }
                    placed.forEach((id, order) -> {
                        Http.Response status = Http.get(system.consumerUrl("/orders/" + id + "/status"));
                        assertThat(status.status()).as("status view of %s", id).isEqualTo(200);
                        assertThat(status.json().get("status").asText()).as("status of %s", id).isEqualTo(order.status());
                    });
                });
        assertThat(count("consumer_ordering_violations")).as("ordering violations").isZero();
    }

    private static Map<UUID, JsonNode> customerViews() {
        Map<UUID, JsonNode> views = new HashMap<>();
        USERS.forEach(u -> views.put(u, Http.get(system.consumerUrl("/customers/" + u)).json()));
        return views;
    }

    private static long count(String table) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM " + table).mapTo(Long.class).one());
    }
}
