package io.outboxkit.app.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.javalin.Javalin;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.SQLException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** How a handler's unexpected failure is answered: by what its causes say, whatever their shape. */
class JsonApiFailureTest {

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    Javalin server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop();
        }
    }

    @Test
    void a_lost_database_connection_under_wrappers_is_503_with_retry_after() throws Exception {
        serve(new IllegalStateException("query failed", new SQLException("An I/O error occurred", "08006")));

        HttpResponse<String> answer = get();

        assertThat(answer.statusCode()).isEqualTo(503);
        assertThat(answer.headers().firstValue("Retry-After")).hasValue("1");
    }

    @Test
    void a_failure_whose_causes_form_a_cycle_is_answered_not_hung_on() throws Exception {
        RuntimeException a = new RuntimeException("a");
        a.initCause(new IllegalStateException("b", a));
        serve(a);

        HttpResponse<String> answer = get();

        assertThat(answer.statusCode()).isEqualTo(500);
        assertThat(answer.body()).isEqualTo("{\"error\":\"internal error\"}");
    }

    private void serve(RuntimeException failure) {
        server = Javalin.create(config -> {
            JsonApi.configure(config, JsonApi.DEFAULT_MAX_BODY_BYTES);
            config.routes.get("/fail", ctx -> {
                throw failure;
            });
        }).start("127.0.0.1", 0);
    }

    private HttpResponse<String> get() throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/fail"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
