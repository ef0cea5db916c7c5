package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.testing.PostgresExtension;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * POST /orders/{id}/pay and /cancel: CREATED to PAID, CREATED to CANCELLED and PAID to CANCELLED,
 * each with its event in the transaction of the change; anything else is 409 and writes nothing.
 */
class OrderTransitionsTest {

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

    private static String newOrder() {
        return RunningOrderService.json(service.createOrder(UUID.randomUUID().toString(), "19.99")).get("id").asText();
    }

    @Test
    void paying_a_created_order_answers_the_paid_order_and_writes_OrderPaid() {
        String id = newOrder();

        HttpResponse<String> response = service.post("/orders/" + id + "/pay", null);

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode order = RunningOrderService.json(response);
        assertThat(order.get("id").asText()).isEqualTo(id);
        assertThat(order.get("status").asText()).isEqualTo("PAID");
        assertThat(order.get("amount").decimalValue()).isEqualByComparingTo("19.99");
        assertThat(rows.status(id)).isEqualTo("PAID");
        assertEvents(id, "OrderCreated", "OrderPaid");
        Rows.Event paid = rows.eventsOf(id).get(1);
        assertThat(paid.xmin()).as("written by the transaction that changed the status").isEqualTo(rows.orderXmin(id));
        assertThat(paid.payload().fieldNames()).toIterable()
                .containsExactlyInAnyOrder("order_id", "user_id", "amount", "status");
        assertThat(paid.payload().get("order_id").asText()).isEqualTo(id);
        assertThat(paid.payload().get("user_id").asText()).isEqualTo(order.get("user_id").asText());
        assertThat(paid.payload().get("amount").decimalValue()).isEqualByComparingTo("19.99");
        assertThat(paid.payload().get("status").asText()).isEqualTo("PAID");
    }

    @Test
    void cancelling_a_created_order_writes_OrderCancelled() {
        String id = newOrder();

        HttpResponse<String> response = service.post("/orders/" + id + "/cancel", null);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(RunningOrderService.json(response).get("status").asText()).isEqualTo("CANCELLED");
        assertEvents(id, "OrderCreated", "OrderCancelled");
        Rows.Event cancelled = rows.eventsOf(id).get(1);
        assertThat(cancelled.xmin()).isEqualTo(rows.orderXmin(id));
        assertThat(cancelled.payload().get("status").asText()).isEqualTo("CANCELLED");
    }

    @Test
    void cancelling_a_paid_order_is_a_refund_and_the_events_keep_their_order() {
        String id = newOrder();

        assertThat(service.post("/orders/" + id + "/pay", null).statusCode()).isEqualTo(200);
        HttpResponse<String> refund = service.post("/orders/" + id + "/cancel", null);

        assertThat(refund.statusCode()).isEqualTo(200);
        assertThat(rows.status(id)).isEqualTo("CANCELLED");
        assertEvents(id, "OrderCreated", "OrderPaid", "OrderCancelled");
    }

    @Test
    void the_body_of_pay_and_cancel_is_ignored() {
        String id = newOrder();

        HttpResponse<String> response = service.send("/orders/" + id + "/pay", "POST", "text/plain", "whatever");

        assertThat(response.statusCode()).isEqualTo(200);
    }

    @ParameterizedTest(name = "{0} then {1} is refused")
    @CsvSource({
        "pay,    pay,    PAID",
        "cancel, cancel, CANCELLED",
        "cancel, pay,    CANCELLED",
    })
    void an_illegal_transition_is_409_and_writes_nothing(String first, String second, String status) {
        String id = newOrder();
        assertThat(service.post("/orders/" + id + "/" + first, null).statusCode()).isEqualTo(200);
        String xminBefore = rows.orderXmin(id);
        List<Rows.Event> eventsBefore = rows.eventsOf(id);

        HttpResponse<String> response = service.post("/orders/" + id + "/" + second, null);

        assertThat(response.statusCode()).isEqualTo(409);
        assertThat(RunningOrderService.json(response).get("error").asText())
                .contains("cannot " + second + " order " + id).contains(status);
        assertThat(rows.status(id)).isEqualTo(status);
        assertThat(rows.orderXmin(id)).as("the row was not rewritten").isEqualTo(xminBefore);
        assertThat(rows.eventsOf(id)).isEqualTo(eventsBefore);
    }

    @ParameterizedTest(name = "{0} an unknown order is 404")
    @CsvSource({"pay", "cancel"})
    void a_transition_of_an_unknown_order_is_404(String verb) {
        long outbox = rows.count("outbox");

        HttpResponse<String> response = service.post("/orders/" + UUID.randomUUID() + "/" + verb, null);

        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(RunningOrderService.json(response).get("error").asText()).startsWith("no order with id");
        assertThat(rows.count("outbox")).isEqualTo(outbox);
    }

    private static void assertEvents(String id, String... types) {
        assertThat(rows.eventsOf(id)).extracting(Rows.Event::eventType).containsExactly(types);
        assertThat(rows.eventsOf(id)).extracting(Rows.Event::aggregateType).containsOnly("Order");
    }
}
