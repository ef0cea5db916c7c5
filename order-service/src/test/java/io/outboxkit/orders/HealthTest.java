package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.app.ProbeSettings;
import io.outboxkit.testing.PostgresExtension;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * GET /health and GET /health/ready answer 200 {"status":"ok"} while the database answers, 503
 * when it does not; GET /health/live answers 200 either way, so a liveness probe does not restart
 * the service when the database blips.
 */
class HealthTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OrderServiceMain.SCHEMA::apply);

    private static RunningOrderService service;

    @BeforeAll
    static void start() {
        service = RunningOrderService.start(db);
    }

    @AfterAll
    static void stop() {
        service.close();
    }

    @Test
    void is_ok_while_the_database_answers() {
        HttpResponse<String> response = service.get("/health");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("{\"status\":\"ok\"}");
    }

    @Test
    void live_and_ready_are_ok_while_the_database_answers() {
        for (String path : new String[] {"/health/live", "/health/ready"}) {
            HttpResponse<String> response = service.get(path);

            assertThat(response.statusCode()).as(path).isEqualTo(200);
            assertThat(response.body()).as(path).isEqualTo("{\"status\":\"ok\"}");
        }
    }

    @Test
    void live_is_ok_while_the_database_does_not_answer_and_ready_is_unavailable() {
        try (RunningOrderService cut = RunningOrderService.start(db)) {
            cut.loseDatabase();

            HttpResponse<String> live = cut.get("/health/live");
            assertThat(live.statusCode()).isEqualTo(200);
            assertThat(live.body()).isEqualTo("{\"status\":\"ok\"}");
            HttpResponse<String> ready = cut.get("/health/ready");
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(ready.body()).isEqualTo("{\"status\":\"unavailable\",\"error\":\"database is not answering\"}");
            assertThat(cut.get("/health").body()).isEqualTo(ready.body());
        }
    }

    @Test
    void the_health_port_answers_the_checks_and_nothing_else() {
        try (RunningOrderService probed = RunningOrderService.start(db, new ProbeSettings(0, Duration.ZERO))) {
            assertThat(probed.healthPort()).isPositive().isNotEqualTo(probed.port());
            for (String path : new String[] {"/health/live", "/health/ready", "/health"}) {
                HttpResponse<String> response = probed.getOnHealthPort(path);
                assertThat(response.statusCode()).as(path).isEqualTo(200);
                assertThat(response.body()).as(path).isEqualTo("{\"status\":\"ok\"}");
            }
            HttpResponse<String> order = probed.getOnHealthPort("/orders/" + UUID.randomUUID());
            assertThat(order.statusCode()).isEqualTo(404);
            assertThat(order.body()).contains("the health port serves");
            assertThat(probed.get("/health/ready").statusCode()).as("the checks stay on the service's port").isEqualTo(200);
        }
    }

    @Test
    void without_a_health_port_the_checks_are_on_the_service_port_only() {
        assertThat(service.healthPort()).isEqualTo(-1);
    }
}
