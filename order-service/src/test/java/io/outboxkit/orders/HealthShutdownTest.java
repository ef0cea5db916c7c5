package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.Database;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.testing.PostgresExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Under an orchestrator a stopping replica must say it is not ready (503) while it finishes the
 * requests in progress, so that a readiness probe, or a load balancer's health check, takes it out
 * of rotation before it stops answering.
 */
class HealthShutdownTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OrderServiceMain.SCHEMA::apply);

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Test
    void ready_answers_503_while_a_stopping_service_finishes_a_request_in_progress() throws Exception {
        try (Database database = TestDatabases.open(db, 4, OrderServiceMain.SCHEMA);
                OrderServiceApp app = OrderServiceApp.start(database, "127.0.0.1", 0)) {
            URI ready = uri(app, "/health/ready"); // the server forgets its port once stopping
            HttpResponse<String> created = client.send(HttpRequest.newBuilder(uri(app, "/orders"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"user_id\": \"" + UUID.randomUUID() + "\", \"amount\": 1}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            String id = RunningOrderService.json(created).get("id").asText();
            try (HeldOrderLock lock = HeldOrderLock.hold(db, id)) {
                CompletableFuture<HttpResponse<String>> pay = client.sendAsync(HttpRequest.newBuilder(uri(app, "/orders/" + id + "/pay"))
                        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                await().atMost(Duration.ofSeconds(10)).until(() -> lock.waiters() >= 1);
                CompletableFuture<Void> stopping = CompletableFuture.runAsync(app::close);

                // A refused connection fails the wait: the port must stay open while stopping.
                await().atMost(Duration.ofSeconds(10)).until(() -> client.send(HttpRequest.newBuilder(ready).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode() == 503);
                assertThat(pay).as("the request in progress is still held while ready says 503").isNotDone();
                lock.release();
                assertThat(pay.get(10, TimeUnit.SECONDS).statusCode()).as("the request in progress finishes").isEqualTo(200);
                stopping.get(15, TimeUnit.SECONDS);
            }
        }
    }

    private static URI uri(OrderServiceApp app, String path) {
        return URI.create("http://127.0.0.1:" + app.port() + path);
    }
}
