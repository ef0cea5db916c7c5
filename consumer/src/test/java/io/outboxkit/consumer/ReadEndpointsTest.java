package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.app.Database;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.testing.PostgresExtension;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The read side answers for customers it has never seen, and refuses what is not an id. */
class ReadEndpointsTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply);

    @RegisterExtension
    static final RunningConsumer consumer = new RunningConsumer(db, 4);

    @Test
    void an_unknown_customer_has_zero_orders() {
        UUID user = UUID.randomUUID();

        ApiClient.Response response = consumer.api().get("/customers/" + user);

        assertThat(response.status()).isEqualTo(200);
        assertThat(response.body().get("user_id").asText()).isEqualTo(user.toString());
        assertThat(response.body().get("order_count").asLong()).isZero();
        assertThat(response.body().get("total_amount").decimalValue()).isEqualByComparingTo("0");
    }

    @Test
    void a_customer_id_that_is_no_uuid_is_a_bad_request() {
        ApiClient.Response response = consumer.api().get("/customers/bob");

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.body().get("error").asText()).contains("user_id is not a UUID");
        assertThat(consumer.api().get("/orders/42/status").status()).isEqualTo(400);
    }

    @Test
    void health_is_ok_while_the_database_answers() {
        ApiClient.Response response = consumer.api().get("/health");

        assertThat(response.status()).isEqualTo(200);
        assertThat(response.body().get("status").asText()).isEqualTo("ok");
    }

    @Test
    void health_is_unavailable_when_the_database_does_not_answer() {
        Database lost = TestDatabases.open(db, 2, ConsumerMain.SCHEMA);
        try (ConsumerApp cut = ConsumerApp.start(lost, "loyalty", "127.0.0.1", 0)) {
            lost.close();

            ApiClient.Response response = new ApiClient(cut.port()).get("/health");

            assertThat(response.status()).isEqualTo(503);
            assertThat(response.body().get("status").asText()).isEqualTo("unavailable");
        }
    }

    @Test
    void live_and_ready_are_ok_while_the_database_answers() {
        for (String path : new String[] {"/health/live", "/health/ready"}) {
            ApiClient.Response response = consumer.api().get(path);

            assertThat(response.status()).as(path).isEqualTo(200);
            assertThat(response.body().get("status").asText()).as(path).isEqualTo("ok");
        }
    }

    @Test
    void live_is_ok_while_the_database_does_not_answer_and_ready_is_unavailable() {
        Database lost = TestDatabases.open(db, 2, ConsumerMain.SCHEMA);
        try (ConsumerApp cut = ConsumerApp.start(lost, "loyalty", "127.0.0.1", 0)) {
            lost.close();
            ApiClient api = new ApiClient(cut.port());

            ApiClient.Response live = api.get("/health/live");
            assertThat(live.status()).isEqualTo(200);
            assertThat(live.body().get("status").asText()).isEqualTo("ok");
            ApiClient.Response ready = api.get("/health/ready");
            assertThat(ready.status()).isEqualTo(503);
            assertThat(ready.body().get("error").asText()).isEqualTo("database is not answering");
        }
    }

    @Test
    void an_unknown_path_is_a_json_not_found() {
        ApiClient.Response response = consumer.api().get("/nothing-here");

        assertThat(response.status()).isEqualTo(404);
        assertThat(response.body().get("error").isTextual()).isTrue();
    }
}
