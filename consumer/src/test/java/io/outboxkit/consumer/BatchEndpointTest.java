package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.testing.PostgresExtension;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code POST /messages/batch} processes each message once and reports each one's outcome. */
class BatchEndpointTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply);

    @RegisterExtension
    static final RunningConsumer consumer = new RunningConsumer(db, 8);

    @Test
    void each_message_gets_its_own_result_and_duplicates_are_reported() {
        UUID user = UUID.randomUUID();
        UUID order = UUID.randomUUID();
        ObjectNode created = Envelopes.orderCreated(UUID.randomUUID(), 1, order, user, "10.00");
        ObjectNode paid = Envelopes.orderPaid(UUID.randomUUID(), 2, order);
        ObjectNode poison = Envelopes.envelope(UUID.randomUUID(), 3, UUID.randomUUID(), "OrderCreated",
                Jsons.mapper().createObjectNode());
        consumer.api().postJson("/messages", created);

        ApiClient.Response response = consumer.api().postJson("/messages/batch", batch(created, paid, paid, poison));

        assertThat(response.status()).isEqualTo(200);
        JsonNode results = response.body().get("results");
        assertThat(results).hasSize(4);
        assertThat(results.get(0).get("id").asText()).isEqualTo(created.get("id").asText());
        assertThat(results.get(0).get("status").asText()).isEqualTo("duplicate");
        assertThat(results.get(1).get("status").asText()).isEqualTo("processed");
        assertThat(results.get(2).get("status").asText()).isEqualTo("duplicate");
        assertThat(results.get(3).get("status").asText()).isEqualTo("failed");
        assertThat(results.get(3).get("error").asText()).contains("user_id");
        assertThat(consumer.api().get("/customers/" + user).body().get("order_count").asLong()).isEqualTo(1);
        assertThat(consumer.api().get("/orders/" + order + "/status").body().get("status").asText()).isEqualTo("PAID");
    }

    @Test
    void events_without_a_sequence_or_a_customer_are_applied_in_a_batch() {
        UUID user = UUID.randomUUID();
        UUID order = UUID.randomUUID();
        UUID unseen = UUID.randomUUID();
        ObjectNode created = Envelopes.orderCreated(UUID.randomUUID(), 0, order, user, "5.00");
        ObjectNode paid = Envelopes.orderPaid(UUID.randomUUID(), 0, unseen); // says no customer

        ApiClient.Response response = consumer.api().postJson("/messages/batch", batch(created, paid));

        assertThat(response.status()).isEqualTo(200);
        assertThat(response.body().get("results").findValuesAsText("status")).containsExactly("processed", "processed");
        assertThat(consumer.api().get("/customers/" + user).body().get("order_count").asLong()).isEqualTo(1);
        assertThat(consumer.api().get("/orders/" + order + "/status").body().get("status").asText()).isEqualTo("CREATED");
        assertThat(consumer.api().get("/orders/" + unseen + "/status").body().get("status").asText()).isEqualTo("PAID");
    }

    @Test
    void a_malformed_envelope_refuses_the_whole_batch_before_anything_is_processed() {
        ObjectNode good = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), UUID.randomUUID(), "1");
        ObjectNode bad = Envelopes.orderCreated(UUID.randomUUID(), 2, UUID.randomUUID(), UUID.randomUUID(), "1");
        bad.remove("id");

        ApiClient.Response response = consumer.api().postJson("/messages/batch", batch(good, bad));

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.body().get("error").asText()).startsWith("messages[1]: id");
        assertThat(consumer.api().postJson("/messages", good).body().get("status").asText()).isEqualTo("processed");
    }

    @Test
    void a_malformed_envelope_whose_id_can_be_read_fails_alone_naming_its_place_and_field() {
        UUID user = UUID.randomUUID();
        ObjectNode before = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), user, "1.00");
        ObjectNode bad = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), user, "2.00");
        bad.remove("aggregate_type");
        ObjectNode after = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), user, "4.00");

        ApiClient.Response response = consumer.api().postJson("/messages/batch", batch(before, bad, after));

        assertThat(response.status()).as("%s", response.body()).isEqualTo(200);
        JsonNode results = response.body().get("results");
        assertThat(results.findValuesAsText("status")).containsExactly("processed", "failed", "processed");
        assertThat(results.get(1).get("id").asText()).isEqualTo(bad.get("id").asText());
        assertThat(results.get(1).get("error").asText()).startsWith("messages[1]: aggregate_type");
        assertThat(consumer.api().get("/customers/" + user).body().get("total_amount").decimalValue()).isEqualByComparingTo("5.00");
    }

    @Test
    void a_body_that_breaks_off_inside_an_envelope_is_refused_whole_naming_that_envelope() {
        ObjectNode good = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), UUID.randomUUID(), "1");
        String broken = "{\"messages\": [" + good + "," + good.toString().replace("\"payload\":{", "\"payload\":{]") + "]}";

        ApiClient.Response response = consumer.api().post("/messages/batch", "application/json", broken.getBytes(StandardCharsets.UTF_8));

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.body().get("error").asText()).startsWith("body is not valid JSON at messages[1]: ");
        assertThat(consumer.api().postJson("/messages", good).body().get("status").asText()).isEqualTo("processed");
    }

    @Test
    void an_envelope_whose_payload_nests_deeper_than_jsonb_holds_fails_alone() {
        UUID user = UUID.randomUUID();
        ObjectNode before = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), user, "1.00");
        ObjectNode deep = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), user, "2.00");
        ObjectNode after = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), user, "4.00");
        String body = "{\"messages\": [" + before + "," + withMeta(deep, Jsons.MAX_PAYLOAD_DEPTH) + "," + after + "]}";

        ApiClient.Response response = consumer.api().post("/messages/batch", "application/json", body.getBytes(StandardCharsets.UTF_8));

        assertThat(response.status()).as("%s", response.body()).isEqualTo(200);
        JsonNode results = response.body().get("results");
        assertThat(results.findValuesAsText("status")).containsExactly("processed", "failed", "processed");
        assertThat(results.get(1).get("id").asText()).isEqualTo(deep.get("id").asText());
        assertThat(results.get(1).get("error").asText()).isEqualTo("messages[1]: payload nests deeper than 65536 levels");
        assertThat(consumer.api().get("/customers/" + user).body().get("total_amount").decimalValue()).isEqualByComparingTo("5.00");
    }

    @Test
    void a_body_nesting_deeper_than_twice_a_payloads_limit_is_refused_whole_naming_that_envelope() {
        ObjectNode good = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), UUID.randomUUID(), "1");
        ObjectNode deep = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), UUID.randomUUID(), "1");
        String body = "{\"messages\": [" + good + "," + withMeta(deep, 2 * Jsons.MAX_PAYLOAD_DEPTH) + "]}";

        ApiClient.Response response = consumer.api().post("/messages/batch", "application/json", body.getBytes(StandardCharsets.UTF_8));

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.body().get("error").asText()).startsWith("body is not valid JSON at messages[1]: Document nesting depth");
        assertThat(consumer.api().postJson("/messages", good).body().get("status").asText()).isEqualTo("processed");
    }

    /** {@code envelope} as JSON text, its payload given a field {@code meta} of arrays nested {@code depth} deep. */
    private static String withMeta(ObjectNode envelope, int depth) {
        return envelope.toString().replace("\"payload\":{", "\"payload\":{\"meta\":" + "[".repeat(depth) + "]".repeat(depth) + ",");
    }

    @Test
    void an_empty_or_missing_list_is_refused() {
        assertThat(consumer.api().postJson("/messages/batch", batch()).status()).isEqualTo(400);
        assertThat(consumer.api().postJson("/messages/batch", Jsons.mapper().createObjectNode()).status()).isEqualTo(400);
        assertThat(consumer.api().postJson("/messages/batch", Jsons.mapper().createArrayNode()).status()).isEqualTo(400);
    }

    private static ObjectNode batch(ObjectNode... envelopes) {
        ObjectNode body = Jsons.mapper().createObjectNode();
        ArrayNode messages = body.putArray("messages");
        for (ObjectNode envelope : envelopes) {
            messages.add(envelope);
        }
        return body;
    }
}
