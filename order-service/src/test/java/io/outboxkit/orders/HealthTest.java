package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.testing.PostgresExtension;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** GET /health answers 200 {"status":"ok"} while the database answers. */
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
}
