package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.testing.PostgresExtension;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The consumer's view of each order follows its events, and never moves back on a late one. */
class OrderStatusViewTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply);

    @RegisterExtension
    static final RunningConsumer consumer = new RunningConsumer(db, 8);

    @Test
    void paid_then_cancelled_update_the_status() {
        UUID order = UUID.randomUUID();
        consumer.api().postJson("/messages", Envelopes.orderCreated(UUID.randomUUID(), 10, order, UUID.randomUUID(), "9.99"));

        consumer.api().postJson("/messages", Envelopes.orderPaid(UUID.randomUUID(), 11, order));
        assertThat(status(order)).isEqualTo("PAID");

        consumer.api().postJson("/messages", Envelopes.orderCancelled(UUID.randomUUID(), 12, order));
        assertThat(status(order)).isEqualTo("CANCELLED");
        assertThat(consumer.api().get("/orders/" + order + "/status").body().get("last_sequence").asLong()).isEqualTo(12);
    }

    @Test
    void an_event_older_than_the_last_applied_is_recorded_as_a_violation_and_does_not_move_the_status_back() {
        UUID order = UUID.randomUUID();
        UUID user = UUID.randomUUID();
        UUID lateCreated = UUID.randomUUID();
        consumer.api().postJson("/messages", Envelopes.orderPaid(UUID.randomUUID(), 21, order));

        ApiClient.Response late = consumer.api().postJson("/messages", Envelopes.orderCreated(lateCreated, 20, order, user, "15.00"));

        assertThat(late.body().get("status").asText()).isEqualTo("processed");
        assertThat(status(order)).isEqualTo("PAID");
        assertThat(consumer.api().get("/orders/" + order + "/status").body().get("last_sequence").asLong()).isEqualTo(21);
        Map<String, Object> violation = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT order_id, seq, previous_seq FROM consumer_ordering_violations WHERE message_id = :id")
                .bind("id", lateCreated).mapToMap().one());
        assertThat(violation).containsEntry("order_id", order).containsEntry("seq", 20L).containsEntry("previous_seq", 21L);
        assertThat(consumer.api().get("/customers/" + user).body().get("order_count").asLong())
                .as("the order still counts for its customer").isEqualTo(1);
        assertThat(consumer.api().get("/stats").body().get("violations").asLong()).isEqualTo(1);
    }

    @Test
    void an_event_for_an_order_not_yet_seen_creates_its_view() {
        UUID order = UUID.randomUUID();

        ApiClient.Response response = consumer.api().postJson("/messages", Envelopes.orderCancelled(UUID.randomUUID(), 31, order));

        assertThat(response.status()).isEqualTo(200);
        assertThat(status(order)).isEqualTo("CANCELLED");
    }

    @Test
    void an_unknown_order_is_not_found() {
        ApiClient.Response response = consumer.api().get("/orders/" + UUID.randomUUID() + "/status");

        assertThat(response.status()).isEqualTo(404);
        assertThat(response.body().get("error").asText()).contains("no event seen");
    }

    private static String status(UUID order) {
        ApiClient.Response response = consumer.api().get("/orders/" + order + "/status");
        assertThat(response.status()).isEqualTo(200);
        return response.body().get("status").asText();
    }
}
