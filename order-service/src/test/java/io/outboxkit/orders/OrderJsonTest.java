package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Jsons;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class OrderJsonTest {

    private static final Order ORDER = new Order(UUID.fromString("3f2b8c1e-6a5d-4f7e-9b0a-1c2d3e4f5a6b"),
            UUID.fromString("00000000-0000-4000-8000-000000000042"), new BigDecimal("1200.50"), OrderStatus.PAID,
            Instant.parse("2026-11-26T15:00:00.123456Z"));

    @Test
    void response_is_the_order_with_its_amount_at_the_stored_scale() {
        assertThat(OrderJson.response(ORDER)).isEqualTo("{\"id\":\"3f2b8c1e-6a5d-4f7e-9b0a-1c2d3e4f5a6b\","
                + "\"user_id\":\"00000000-0000-4000-8000-000000000042\",\"amount\":1200.50,\"status\":\"PAID\","
                + "\"created_at\":\"2026-11-26T15:00:00.123456Z\"}");
    }

    @Test
    void created_payload_names_the_order_id_and_keeps_created_at() {
        assertThat(OrderJson.created(ORDER)).isEqualTo("{\"order_id\":\"3f2b8c1e-6a5d-4f7e-9b0a-1c2d3e4f5a6b\","
                + "\"user_id\":\"00000000-0000-4000-8000-000000000042\",\"amount\":1200.50,\"status\":\"PAID\","
                + "\"created_at\":\"2026-11-26T15:00:00.123456Z\"}");
    }

    @Test
    void transitioned_payload_has_no_created_at() {
        assertThat(OrderJson.transitioned(ORDER)).isEqualTo("{\"order_id\":\"3f2b8c1e-6a5d-4f7e-9b0a-1c2d3e4f5a6b\","
                + "\"user_id\":\"00000000-0000-4000-8000-000000000042\",\"amount\":1200.50,\"status\":\"PAID\"}");
    }

    @Test
    void every_form_is_json_that_reads_back_to_the_order() throws Exception {
        for (String json : new String[] {OrderJson.response(ORDER), OrderJson.created(ORDER), OrderJson.transitioned(ORDER)}) {
            JsonNode node = Jsons.mapper().readTree(json);
            assertThat(node.get("user_id").asText()).isEqualTo(ORDER.userId().toString());
            assertThat(node.get("amount").decimalValue()).isEqualByComparingTo(ORDER.amount());
            assertThat(node.get("status").asText()).isEqualTo("PAID");
        }
    }
}
