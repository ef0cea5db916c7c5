package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.Database;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.testing.PostgresExtension;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
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
        try (Database database = TestDatabases.open(db, 4, OrderServiceMain.SCHEMA)) {
            OrderServiceApp app = OrderServiceApp.start(database, "127.0.0.1", 0);
            int port = app.port(); // the server forgets it once stopping
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
                await().atMost(Duration.ofSeconds(5)).pollDelay(Duration.ofMillis(200)).until(() -> !stopping.isDone());

                String ready;
                try {
                    HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready")).build(),
                            HttpResponse.BodyHandlers.ofString());
                    ready = response.statusCode() + " " + response.body();
                } catch (IOException e) {
                    ready = "no answer: " + e;
                }
                lock.release();
                assertThat(pay.join().statusCode()).as("the request in progress finishes").isEqualTo(200);
                stopping.join();
                assertThat(ready).as("/health/ready while stopping").startsWith("503");
            }
        }
    }

    private static URI uri(OrderServiceApp app, String path) {
        return URI.create("http://127.0.0.1:" + app.port() + path);
    }
}
