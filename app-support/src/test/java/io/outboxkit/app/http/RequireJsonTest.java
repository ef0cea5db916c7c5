package io.outboxkit.app.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.javalin.Javalin;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link JsonApi#requireJson}: what a JSON endpoint of any service takes, and how it refuses the rest. */
class RequireJsonTest {

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    Javalin server;

    @BeforeEach
    void start() {
        server = Javalin.create(config -> {
            JsonApi.configure(config, JsonApi.DEFAULT_MAX_BODY_BYTES);
            config.routes.post("/json", ctx -> {
                JsonApi.requireJson(ctx);
                JsonApi.respondJson(ctx, 200, ctx.bodyAsBytes());
            });
        }).start("127.0.0.1", 0);
    }

    @AfterEach
    void stop() {
        server.stop();
    }

    @Test
    void a_body_with_a_content_encoding_is_refused_with_415_naming_the_encoding() throws Exception {
        HttpResponse<String> gzip = post("gzip");
        HttpResponse<String> chain = post("identity, br");

        assertThat(gzip.statusCode()).isEqualTo(415);
        assertThat(gzip.body()).isEqualTo("{\"error\":\"Content-Encoding gzip is not supported; send the JSON uncompressed\"}");
        assertThat(chain.statusCode()).isEqualTo(415);
        assertThat(chain.body()).contains("Content-Encoding br is not supported");
    }

    @Test
    void a_body_sent_as_it_is_with_or_without_content_encoding_identity_is_taken() throws Exception {
        assertThat(post(null).statusCode()).isEqualTo(200);
        assertThat(post("Identity").statusCode()).isEqualTo(200);
    }

    private HttpResponse<String> post(String encoding) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/json"))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"a\":1}"));
        if (encoding != null) {
            request.header("Content-Encoding", encoding);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
