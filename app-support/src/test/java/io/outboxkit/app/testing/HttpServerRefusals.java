package io.outboxkit.app.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.testing.RawHttp;
import java.io.IOException;

/**
 * The check that a service's HTTP server answers the requests Jetty refuses before any route sees
 * them as its routes answer errors: the status Jetty chose and {@code {"error": "..."}} as
 * {@code application/json}, never Jetty's or the console's HTML page, a stack trace or the
 * server's name and version.
 */
public final class HttpServerRefusals {

    /** A URI this long is refused with 414: well past Jetty's limit on the request line. */
    public static final int LONG_URI_BYTES = 20 * 1024;
    /** A header this long is refused with 431: well past Jetty's limit on the header fields. */
    public static final int LONG_HEADER_BYTES = 40 * 1024;

    private HttpServerRefusals() {
    }

    /**
     * Fails unless the server on 127.0.0.1:{@code port} answers a GET of {@code path} with a URI of
     * {@link #LONG_URI_BYTES} by a JSON 414, and one with a header of {@link #LONG_HEADER_BYTES} by a
     * JSON 431, each sent over a raw socket by a client that asks for JSON.
     */
    public static void assertTooLongRequestsGetJsonErrors(int port, String path) {
        RawHttp raw = new RawHttp("127.0.0.1", port);

        assertJsonError("a 20 KB URI", raw.request("GET", path + "?q=" + "u".repeat(LONG_URI_BYTES), null,
                "Accept", "application/json"), 414);
        assertJsonError("a 40 KB header", raw.request("GET", path, null,
                "Accept", "application/json", "X-Padding", "h".repeat(LONG_HEADER_BYTES)), 431);
    }

    /**
     * Fails unless {@code response} (to the request {@code what} describes) has {@code status} and a
     * body {@code {"error": "<non-blank>"}} with no other field, typed {@code application/json},
     * with neither a stack trace nor the server's name.
     */
    public static void assertJsonError(String what, RawHttp.Response response, int status) {
        assertThat(response.status()).as("%s: %s", what, response).isEqualTo(status);
        assertThat(response.header("Content-Type").orElse("none")).as("%s: the Content-Type of %s", what, response)
                .startsWith("application/json");
        assertThat(response.header("Server")).as("%s: the server's name", what).isEmpty();
        JsonNode body = json(what, response);
        assertThat(body.isObject() && body.size() == 1).as("%s: one field: %s", what, response.text()).isTrue();
        assertThat(body.path("error").isTextual() && !body.path("error").asText().isBlank())
                .as("%s: a non-blank error: %s", what, response.text()).isTrue();
        assertThat(response.text()).as(what).doesNotContainIgnoringCase("jetty")
                .doesNotContain("Exception").doesNotContain("\tat ");
    }

    private static JsonNode json(String what, RawHttp.Response response) {
        try {
            return Jsons.mapper().readTree(response.body());
        } catch (IOException e) {
            throw new AssertionError(what + ": the body is not JSON: " + response.text(), e);
        }
    }
}
