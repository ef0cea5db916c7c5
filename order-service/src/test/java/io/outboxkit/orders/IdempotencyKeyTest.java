package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.testing.PostgresExtension;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A POST with an Idempotency-Key is done once: retries get the first answer and create nothing;
 * the key with a different request is 422; the key and the answer commit with the change.
 */
class IdempotencyKeyTest {

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

    private static String[] key(String key) {
        return new String[] {"Idempotency-Key", key};
    }

    @Test
    void a_retried_create_gets_the_first_answer_and_creates_nothing_more() {
        String user = UUID.randomUUID().toString();
        String key = UUID.randomUUID().toString();

        HttpResponse<String> first = service.createOrder(user, "10.00", key(key));
        HttpResponse<String> retry = service.createOrder(user, "10.00", key(key));

        assertThat(first.statusCode()).isEqualTo(201);
        assertThat(retry.statusCode()).isEqualTo(201);
        assertThat(retry.body()).isEqualTo(first.body());
        assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
        String id = RunningOrderService.json(first).get("id").asText();
        assertThat(rows.ordersOf(user)).isEqualTo(1);
        assertThat(rows.eventsOf(id)).hasSize(1);
        assertThat(rows.keys(key)).isEqualTo(1);
    }

    @Test
    void the_key_commits_in_the_transaction_of_the_order() {
        String key = UUID.randomUUID().toString();

        String id = RunningOrderService.json(service.createOrder(UUID.randomUUID().toString(), "1", key(key)))
                .get("id").asText();

        String keyXmin = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT xmin::text FROM idempotency_keys WHERE key = :k").bind("k", key).mapTo(String.class).one());
        assertThat(keyXmin).isEqualTo(rows.orderXmin(id));
    }

    @Test
    void the_same_key_with_a_different_body_is_422_and_creates_nothing() {
        String user = UUID.randomUUID().toString();
        String key = UUID.randomUUID().toString();
        service.createOrder(user, "10.00", key(key));
        long outbox = rows.count("outbox");

        HttpResponse<String> reuse = service.createOrder(user, "11.00", key(key));

        assertThat(reuse.statusCode()).isEqualTo(422);
        assertThat(RunningOrderService.json(reuse).get("error").asText())
                .contains("Idempotency-Key").contains("different request");
        assertThat(rows.ordersOf(user)).isEqualTo(1);
        assertThat(rows.count("outbox")).isEqualTo(outbox);
    }

    @Test
    void the_same_key_on_a_different_path_is_422() {
        String key = UUID.randomUUID().toString();
        String id = RunningOrderService.json(service.createOrder(UUID.randomUUID().toString(), "5", key(key)))
                .get("id").asText();

        HttpResponse<String> reuse = service.post("/orders/" + id + "/pay", null, key(key));

        assertThat(reuse.statusCode()).isEqualTo(422);
        assertThat(rows.status(id)).isEqualTo("CREATED");
        assertThat(rows.eventsOf(id)).hasSize(1);
    }

    @Test
    void a_retried_pay_gets_the_first_answer_and_writes_one_event() {
        String id = RunningOrderService.json(service.createOrder(UUID.randomUUID().toString(), "5")).get("id").asText();
        String key = UUID.randomUUID().toString();

        HttpResponse<String> first = service.post("/orders/" + id + "/pay", null, key(key));
        HttpResponse<String> retry = service.post("/orders/" + id + "/pay", null, key(key));

        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(retry.statusCode()).as("a plain second pay would be 409").isEqualTo(200);
        assertThat(retry.body()).isEqualTo(first.body());
        assertThat(rows.eventsOf(id)).extracting(Rows.Event::eventType).containsExactly("OrderCreated", "OrderPaid");
    }

    @Test
    void a_refused_request_stores_nothing_so_the_key_can_be_used_again() {
        String key = UUID.randomUUID().toString();

        HttpResponse<String> refused = service.post("/orders/" + UUID.randomUUID() + "/pay", null, key(key));

        assertThat(refused.statusCode()).isEqualTo(404);
        assertThat(rows.keys(key)).isZero();
    }

    @Test
    void different_keys_create_different_orders() {
        String user = UUID.randomUUID().toString();

        service.createOrder(user, "3", key(UUID.randomUUID().toString()));
        service.createOrder(user, "3", key(UUID.randomUUID().toString()));

        assertThat(rows.ordersOf(user)).isEqualTo(2);
    }

    @RepeatedTest(5)
    void concurrent_requests_with_one_key_create_one_order() throws Exception {
        String user = UUID.randomUUID().toString();
        String key = UUID.randomUUID().toString();
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<HttpResponse<String>>> answers = new ArrayList<>();
        try {
            for (int i = 0; i < threads; i++) {
                answers.add(pool.submit(() -> {
                    go.await();
                    return service.createOrder(user, "8.88", key(key));
                }));
            }
            go.countDown();
            List<HttpResponse<String>> responses = new ArrayList<>();
            for (Future<HttpResponse<String>> answer : answers) {
                responses.add(answer.get(30, TimeUnit.SECONDS));
            }

            assertThat(responses).extracting(HttpResponse::statusCode).containsOnly(201);
            assertThat(responses).extracting(HttpResponse::body).containsOnly(responses.get(0).body());
            assertThat(rows.ordersOf(user)).isEqualTo(1);
            String id = RunningOrderService.json(responses.get(0)).get("id").asText();
            assertThat(rows.eventsOf(id)).hasSize(1);
            assertThat(rows.keys(key)).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }
}
