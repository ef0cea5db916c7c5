package io.outboxkit.app.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.javalin.Javalin;
import io.outboxkit.app.Database;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * GET /health as every service answers it: the database first, then what the service adds; and
 * GET /health/live beside it, which never asks the database.
 */
class HealthTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 2);

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    final AtomicBoolean pollerRunning = new AtomicBoolean(true);
    Database database;
    Javalin server;

    @BeforeEach
    void start() {
        database = TestDatabases.open(db, 2, ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop();
        }
        database.close();
    }

    @Test
    void ok_while_the_database_answers() throws Exception {
        serve(Health.of(database));

        assertThat(get()).isEqualTo("200 {\"status\":\"ok\"}");
    }

    @Test
    void unavailable_naming_the_database_when_it_does_not_answer() throws Exception {
        serve(Health.of(database));
        database.close();

        assertThat(get()).isEqualTo("503 {\"status\":\"unavailable\",\"error\":\"database is not answering\"}");
    }

    @Test
    void a_check_the_service_adds_is_named_when_it_fails_and_its_fields_are_in_both_answers() throws Exception {
        serve(Health.of(database).with("relay", "relay-1").and(pollerRunning::get, "poller is not running"));
        assertThat(get()).isEqualTo("200 {\"status\":\"ok\",\"relay\":\"relay-1\"}");

        pollerRunning.set(false);

        assertThat(get()).isEqualTo("503 {\"status\":\"unavailable\",\"relay\":\"relay-1\",\"error\":\"poller is not running\"}");
    }

    @Test
    void the_database_is_named_first_when_both_are_down() throws Exception {
        serve(Health.of(database).and(pollerRunning::get, "poller is not running"));
        pollerRunning.set(false);
        database.close();

        assertThat(get()).contains("\"error\":\"database is not answering\"");
    }

    @Test
    void a_check_that_throws_counts_as_down() throws Exception {
        serve(Health.of(database).and(() -> {
            throw new IllegalStateException("boom");
        }, "poller is not running"));

        assertThat(get()).startsWith("503 ").contains("poller is not running").doesNotContain("boom");
    }

    @Test
    void live_is_ok_while_the_database_does_not_answer_and_ready_and_health_are_unavailable() throws Exception {
        serveLiveAndReady(Health.live().and(pollerRunning::get, "poller is not running"), Health.of(database));
        database.close();

        assertThat(get(Health.LIVE)).isEqualTo("200 {\"status\":\"ok\"}");
        assertThat(get(Health.READY))
                .isEqualTo("503 {\"status\":\"unavailable\",\"error\":\"database is not answering\"}");
        assertThat(get(Health.PATH)).isEqualTo(get(Health.READY));
    }

    @Test
    void live_ready_and_health_are_ok_while_all_is_well() throws Exception {
        serveLiveAndReady(Health.live().with("relay", "relay-1"), Health.of(database).with("relay", "relay-1"));

        for (String path : new String[] {Health.LIVE, Health.READY, Health.PATH}) {
            assertThat(get(path)).as(path).isEqualTo("200 {\"status\":\"ok\",\"relay\":\"relay-1\"}");
        }
    }

    @Test
    void live_is_unavailable_naming_the_worker_that_ended() throws Exception {
        serveLiveAndReady(Health.live().and(pollerRunning::get, "poller is not running"), Health.of(database));
        pollerRunning.set(false);

        assertThat(get(Health.LIVE)).isEqualTo("503 {\"status\":\"unavailable\",\"error\":\"poller is not running\"}");
    }

    private void serveLiveAndReady(Health live, Health ready) {
        server = Javalin.create(config -> {
            JsonApi.configure(config, JsonApi.DEFAULT_MAX_BODY_BYTES);
            Health.serve(config, live, ready);
        }).start("127.0.0.1", 0);
    }

    private void serve(Health health) {
        server = Javalin.create(config -> {
            JsonApi.configure(config, JsonApi.DEFAULT_MAX_BODY_BYTES);
            config.routes.get("/health", health);
        }).start("127.0.0.1", 0);
    }

    /** The answer's status and body, as one string. */
    private String get() throws Exception {
        return get("/health");
    }

    /** The answer's status and body at {@code path}, as one string. */
    private String get(String path) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.port() + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        return response.statusCode() + " " + response.body();
    }
}
