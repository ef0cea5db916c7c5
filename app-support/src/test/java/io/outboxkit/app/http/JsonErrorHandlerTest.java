package io.outboxkit.app.http;

import io.javalin.Javalin;
import io.outboxkit.app.testing.HttpServerRefusals;
import io.outboxkit.testing.RawHttp;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What the HTTP server refuses before any route sees the request (too long, or not HTTP it can
 * read) is answered as every other error of a {@link JsonApi} app: its status and
 * {@code {"error": "..."}} as JSON, not Jetty's HTML page.
 */
class JsonErrorHandlerTest {

    static Javalin server;

    @BeforeAll
    static void start() {
        server = Javalin.create(config -> {
            JsonApi.configure(config, JsonApi.DEFAULT_MAX_BODY_BYTES);
            config.routes.get("/answer", ctx -> JsonApi.respond(ctx, 200, Map.of("answer", 42)));
        }).start("127.0.0.1", 0);
    }

    @AfterAll
    static void stop() {
        server.stop();
    }

    @Test
    void a_uri_or_a_header_too_long_is_a_json_414_or_431() {
        HttpServerRefusals.assertTooLongRequestsGetJsonErrors(server.port(), "/answer");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "no request target       | GARBAGE\\r\\n\\r\\n                                            | 400",
            "a space in a header name | GET /answer HTTP/1.1\\r\\nHost: a\\r\\nBad Name: x\\r\\n\\r\\n  | 400",
            "a Content-Length of text | POST /answer HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: ten\\r\\n\\r\\n | 400",
            "an unknown HTTP version  | GET /answer HTTP/9.9\\r\\nHost: a\\r\\n\\r\\n                   | 505"})
    void a_request_that_is_not_readable_http_is_a_json_error_with_its_status(String what, String request, int status) {
        RawHttp raw = new RawHttp("127.0.0.1", server.port());

        RawHttp.Response response = raw.send(request.replace("\\r\\n", "\r\n").getBytes(StandardCharsets.US_ASCII));

        HttpServerRefusals.assertJsonError(what, response, status);
    }
}
