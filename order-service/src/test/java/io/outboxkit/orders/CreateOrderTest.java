package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.testing.PostgresExtension;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** POST /orders places an order and writes its OrderCreated event in the same transaction. */
class CreateOrderTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OrderServiceMain.SCHEMA::apply);

    private static RunningOrderService service;
    private static Rows rows;

    @BeforeAll
    static void start() {
        service = RunningOrderService.start(db);
        rows = new Rows(db.jdbi());
    }

    @AfterAll
    static void stop() {
        service.close();
    }

    @Test
    void answers_201_with_the_created_order() {
        String userId = UUID.randomUUID().toString();

        HttpResponse<String> response = service.createOrder(userId, "100.0");

        assertThat(response.statusCode()).isEqualTo(201);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/json"));
        JsonNode order = RunningOrderService.json(response);
        assertThat(order.fieldNames()).toIterable()
                .containsExactlyInAnyOrder("id", "user_id", "amount", "status", "created_at");
        assertThat(UUID.fromString(order.get("id").asText())).isNotNull();
        assertThat(order.get("user_id").asText()).isEqualTo(userId);
        assertThat(order.get("amount").isNumber()).isTrue();
        assertThat(order.get("amount").decimalValue()).isEqualByComparingTo("100.00");
        assertThat(order.get("status").asText()).isEqualTo("CREATED");
        assertThat(Instant.parse(order.get("created_at").asText())).isBefore(Instant.now().plusSeconds(60));
    }

    @Test
    void commits_the_order_and_exactly_one_OrderCreated_event_in_one_transaction() throws SQLException {
        String userId = UUID.randomUUID().toString();

        JsonNode order = RunningOrderService.json(service.createOrder(userId, "42.50"));

        String id = order.get("id").asText();
        Order stored = db.jdbi().withHandle(h -> new Orders(OutboxWriter.create())
                .find(h.getConnection(), UUID.fromString(id))).orElseThrow();
        assertThat(stored.userId()).hasToString(userId);
        assertThat(stored.amount()).isEqualByComparingTo(order.get("amount").decimalValue());
        assertThat(stored.status()).isEqualTo(OrderStatus.CREATED);
        assertThat(stored.createdAt()).isEqualTo(Instant.parse(order.get("created_at").asText()));

        List<Rows.Event> events = rows.eventsOf(id);
        assertThat(events).hasSize(1);
        Rows.Event created = events.get(0);
        assertThat(created.aggregateType()).isEqualTo("Order");
        assertThat(created.eventType()).isEqualTo("OrderCreated");
        assertThat(created.xmin()).as("the outbox row was written by the order's transaction")
                .isEqualTo(rows.orderXmin(id));
        JsonNode payload = created.payload();
        assertThat(payload.fieldNames()).toIterable()
                .containsExactlyInAnyOrder("order_id", "user_id", "amount", "status", "created_at");
        assertThat(payload.get("order_id").asText()).isEqualTo(id);
        assertThat(payload.get("user_id").asText()).isEqualTo(userId);
        assertThat(payload.get("amount").decimalValue()).isEqualByComparingTo("42.50");
        assertThat(payload.get("status").asText()).isEqualTo("CREATED");
        assertThat(Instant.parse(payload.get("created_at").asText())).isEqualTo(stored.createdAt());
    }

    @Test
    void serves_the_order_it_created() {
        HttpResponse<String> created = service.createOrder(UUID.randomUUID().toString(), "7");

        HttpResponse<String> fetched = service.get("/orders/" + RunningOrderService.json(created).get("id").asText());

        assertThat(fetched.statusCode()).isEqualTo(200);
        assertThat(RunningOrderService.json(fetched)).isEqualTo(RunningOrderService.json(created));
    }

    @ParameterizedTest(name = "amount {0} is stored as {1}")
    @CsvSource({
        "0.01, 0.01",
        "99999999.99, 99999999.99",
        "100, 100.00",
        "100.000, 100.00",
        "1e2, 100.00",
        "12.3, 12.30",
    })
    void accepts_any_positive_amount_with_at_most_two_decimals_up_to_the_numeric_10_2_limit(
            String amount, String stored) {
        HttpResponse<String> response = service.createOrder(UUID.randomUUID().toString(), amount);
        JsonNode order = RunningOrderService.json(response);

        String id = order.get("id").asText();
        BigDecimal inTable = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT amount FROM orders WHERE id = CAST(:id AS uuid)").bind("id", id).mapTo(BigDecimal.class).one());
        assertThat(inTable).isEqualByComparingTo(stored);
        assertThat(order.get("amount").decimalValue()).isEqualByComparingTo(inTable);
        assertThat(response.body()).as("the amount is written with the stored scale").contains("\"amount\":" + stored + ",");
    }

    @Test
    void an_unknown_order_is_404() {
        HttpResponse<String> response = service.get("/orders/" + UUID.randomUUID());

        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(RunningOrderService.json(response).get("error").asText()).startsWith("no order with id");
    }
}
