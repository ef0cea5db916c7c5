package io.outboxkit.consumer;

import static io.outboxkit.app.testing.TestDatabases.count;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.testing.PostgresExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A message is applied once per consumer, however often and however concurrently it is delivered. */
class ProcessingOnceTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply);

    @RegisterExtension
    static final RunningConsumer consumer = new RunningConsumer(db, 16);

    @BeforeEach
    void cleanSlate() {
        db.truncateAll();
    }

    @Test
    void order_created_is_processed_and_counts_the_order_for_the_customer() {
        UUID user = UUID.randomUUID();
        UUID order = UUID.randomUUID();

        ApiClient.Response response = consumer.api().postJson("/messages",
                Envelopes.orderCreated(UUID.randomUUID(), 1, order, user, "100.50"));

        assertThat(response.status()).isEqualTo(200);
        assertThat(response.body().get("status").asText()).isEqualTo("processed");
        ApiClient.Response customer = consumer.api().get("/customers/" + user);
        assertThat(customer.body().get("order_count").asLong()).isEqualTo(1);
        assertThat(customer.body().get("total_amount").decimalValue()).isEqualByComparingTo("100.50");
        ApiClient.Response status = consumer.api().get("/orders/" + order + "/status");
        assertThat(status.body().get("status").asText()).isEqualTo("CREATED");
        assertThat(status.body().get("last_sequence").asLong()).isEqualTo(1);
    }

    @Test
    void the_same_message_again_is_a_duplicate_and_changes_nothing() {
        UUID user = UUID.randomUUID();
        ObjectNode envelope = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), user, "20.00");
        consumer.api().postJson("/messages", envelope);

        ApiClient.Response again = consumer.api().postJson("/messages", envelope);

        assertThat(again.status()).isEqualTo(200);
        assertThat(again.body().get("status").asText()).isEqualTo("duplicate");
        ApiClient.Response customer = consumer.api().get("/customers/" + user);
        assertThat(customer.body().get("order_count").asLong()).isEqualTo(1);
        assertThat(customer.body().get("total_amount").decimalValue()).isEqualByComparingTo("20.00");
    }

    @Test
    void the_same_message_posted_from_eight_threads_at_once_is_processed_exactly_once() throws Exception {
        UUID user = UUID.randomUUID();
        ObjectNode envelope = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), user, "7.25");
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<String>> answers = new ArrayList<>();
        try {
            for (int i = 0; i < threads; i++) {
                answers.add(pool.submit(() -> {
                    go.await();
                    ApiClient.Response r = consumer.api().postJson("/messages", envelope);
                    return r.status() + " " + r.body().get("status").asText();
                }));
            }
            go.countDown();
            List<String> statuses = new ArrayList<>();
            for (Future<String> answer : answers) {
                statuses.add(answer.get(30, TimeUnit.SECONDS));
            }

            assertThat(statuses).containsOnly("200 processed", "200 duplicate");
            assertThat(statuses).filteredOn("200 processed"::equals).hasSize(1);
        } finally {
            pool.shutdownNow();
        }
        ApiClient.Response customer = consumer.api().get("/customers/" + user);
        assertThat(customer.body().get("order_count").asLong()).isEqualTo(1);
        assertThat(customer.body().get("total_amount").decimalValue()).isEqualByComparingTo("7.25");
        assertThat(processedRows()).isEqualTo(1);
    }

    @Test
    void each_consumer_name_processes_a_message_once() {
        try (ConsumerApp other = ConsumerApp.start(consumer.database(), "analytics", "127.0.0.1", 0)) {
            ObjectNode envelope = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), UUID.randomUUID(), "1");

            assertThat(consumer.api().postJson("/messages", envelope).body().get("status").asText()).isEqualTo("processed");
            assertThat(new ApiClient(other.port()).postJson("/messages", envelope).body().get("status").asText())
                    .isEqualTo("processed");
        }
        assertThat(processedRows()).isEqualTo(2);
    }

    @Test
    void an_unknown_event_type_is_accepted_and_recorded_with_no_effect() {
        ObjectNode envelope = Envelopes.envelope(UUID.randomUUID(), 3, UUID.randomUUID(), "OrderShipped",
                io.outboxkit.app.Jsons.mapper().createObjectNode().put("carrier", "post"));

        ApiClient.Response response = consumer.api().postJson("/messages", envelope);

        assertThat(response.status()).isEqualTo(200);
        assertThat(response.body().get("status").asText()).isEqualTo("processed");
        assertThat(processedRows()).isEqualTo(1);
        assertThat(count(db, "SELECT count(*) FROM consumer_order_status")).isZero();
    }

    @Test
    void stats_count_processed_messages_duplicates_and_violations() {
        long duplicatesBefore = consumer.api().get("/stats").body().get("duplicates").asLong();
        ObjectNode first = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), UUID.randomUUID(), "5");
        consumer.api().postJson("/messages", first);
        consumer.api().postJson("/messages", first);
        consumer.api().postJson("/messages", Envelopes.orderCreated(UUID.randomUUID(), 2, UUID.randomUUID(), UUID.randomUUID(), "5"));

        ApiClient.Response stats = consumer.api().get("/stats");

        assertThat(stats.status()).isEqualTo(200);
        assertThat(stats.body().get("processed").asLong()).isEqualTo(2);
        assertThat(stats.body().get("duplicates").asLong()).isEqualTo(duplicatesBefore + 1);
        assertThat(stats.body().get("violations").asLong()).isZero();
    }

    private static long processedRows() {
        return count(db, "SELECT count(*) FROM processed_messages");
    }
}
