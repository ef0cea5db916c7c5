package io.outboxkit.orders;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Database;
import io.outboxkit.app.ProbeSettings;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.testing.PostgresExtension;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The real order-service (Javalin on a free port, its own pool) over a test class's database,
 * and an HTTP client for it. Start it in {@code @BeforeAll}, close it in {@code @AfterAll}.
 */
final class RunningOrderService implements AutoCloseable {

    static final String JSON = "application/json";
    private final Database database;
    private final OrderServiceApp app;
    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private RunningOrderService(Database database, OrderServiceApp app) {
        this.database = database;
        this.app = app;
    }

    static RunningOrderService start(PostgresExtension db) {
        return start(db, Observability.off());
    }

    /** The service observed by {@code observability} (its pool tracked too). */
    static RunningOrderService start(PostgresExtension db, Observability observability) {
        return start(db, observability, ProbeSettings.DEFAULT);
    }

    /** The service with its health checks and its stop as {@code probes} say. */
    static RunningOrderService start(PostgresExtension db, ProbeSettings probes) {
        return start(db, Observability.off(), probes);
    }

    private static RunningOrderService start(PostgresExtension db, Observability observability, ProbeSettings probes) {
        Database database = TestDatabases.open(db, 16, OrderServiceMain.SCHEMA);
        observability.trackPool(database);
        return new RunningOrderService(database, OrderServiceApp.start(database, OutboxNames.DEFAULT, "127.0.0.1", 0, observability,
                probes));
    }

    /** Closes the service's pool under it: every query fails from now on, as when the database stops answering. */
    void loseDatabase() {
        database.close();
    }

    /** The port the service listens on (on 127.0.0.1). */
    int port() {
        return app.port();
    }

    /** The port the health checks have to themselves, -1 when they have none. */
    int healthPort() {
        return app.healthPort();
    }

    /** POST with a JSON body and optional header name/value pairs. */
    HttpResponse<String> post(String path, String json, String... headers) {
        return send(path, "POST", JSON, json, headers);
    }

    /** GET. */
    HttpResponse<String> get(String path) {
        return send(path, "GET", null, null);
    }

    /** GET on the health checks' own port. */
    HttpResponse<String> getOnHealthPort(String path) {
        return send(app.healthPort(), path, "GET", null, null);
    }

    /** Any request; a null content type sends none, a null body sends an empty one. */
    HttpResponse<String> send(String path, String method, String contentType, String body, String... headers) {
        return send(app.port(), path, method, contentType, body, headers);
    }

    private HttpResponse<String> send(int port, String path, String method, String contentType, String body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        if (headers.length > 0) {
            request.headers(headers);
        }
        try {
            return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Places an order for {@code userId} and returns the answer's JSON (asserting nothing). */
    HttpResponse<String> createOrder(String userId, String amount, String... headers) {
        return post("/orders", "{\"user_id\": \"" + userId + "\", \"amount\": " + amount + "}", headers);
    }

    static JsonNode json(HttpResponse<String> response) {
        try {
            return Jsons.mapper().readTree(response.body());
        } catch (IOException e) {
            throw new AssertionError("response is not JSON: " + response.body(), e);
        }
    }

    @Override
    public void close() {
        try {
            app.close();
        } finally {
            database.close();
        }
    }
}
