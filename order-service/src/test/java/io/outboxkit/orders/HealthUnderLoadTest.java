package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.testing.PostgresExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * While every pooled connection is held by requests (here: requests waiting on a row lock, as
 * under a burst of payments of one order), the database still answers: /health/ready must say
 * so, and within a Kubernetes probe's default timeoutSeconds=1, or the orchestrator takes a
 * busy but healthy replica out of service.
 */
class HealthUnderLoadTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OrderServiceMain.SCHEMA::apply);

    /** RunningOrderService's pool size. */
    private static final int POOL = 16;

    @Test
    void ready_answers_200_within_a_second_while_requests_hold_every_pooled_connection() throws Exception {
        try (RunningOrderService service = RunningOrderService.start(db)) {
            String id = RunningOrderService.json(service.createOrder(UUID.randomUUID().toString(), "1")).get("id").asText();
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            List<CompletableFuture<HttpResponse<String>>> pays = new ArrayList<>();
            try (HeldOrderLock lock = HeldOrderLock.hold(db, id)) {
                for (int i = 0; i < POOL; i++) {
                    pays.add(client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.port() + "/orders/" + id + "/pay"))
                            .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(30)).build(),
                            HttpResponse.BodyHandlers.ofString()));
                }
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                        .until(lock::waiters, n -> n >= POOL);

                long started = System.nanoTime();
                HttpResponse<String> ready = service.get("/health/ready");
                Duration took = Duration.ofNanos(System.nanoTime() - started);

                assertThat(ready.statusCode()).as("ready while the pool is busy: %s after %s", ready.body(), took).isEqualTo(200);
                assertThat(took).as("a probe's timeoutSeconds=1").isLessThan(Duration.ofSeconds(1));
                lock.release();
            }
            for (CompletableFuture<HttpResponse<String>> pay : pays) {
                pay.join();
            }
        }
    }
}
