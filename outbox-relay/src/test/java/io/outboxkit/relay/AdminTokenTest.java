package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.app.ServiceMain;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.ChildJvm;
import io.outboxkit.testing.FreePorts;
import io.outboxkit.testing.PostgresExtension;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * ADMIN_TOKEN, on the relay process started by its real main: a non-loopback ADMIN_HOST without a
 * token (or with a short one) does not start; with one, every route needs it (header or login
 * cookie) but a GET or HEAD of {@code /health/live}, which tells nothing but up or down, and the
 * login page with its static files, and it never appears in
 * what the process prints, at debug logging.
 */
class AdminTokenTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 2);

    static final String TOKEN = "tok3n-that-must-never-be-logged-7f1c";
    static final Duration WAIT = Duration.ofSeconds(60);
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void with_a_non_loopback_admin_host_and_no_token_the_relay_does_not_start() throws Exception {
        Map<String, String> shortToken = env("0.0.0.0", FreePorts.pick());
        shortToken.put("ADMIN_TOKEN", "short");
        try (ChildJvm noToken = start(env("0.0.0.0", FreePorts.pick())); ChildJvm tooShort = start(shortToken)) {
            assertThat(noToken.waitFor(WAIT)).as(noToken.output()).isEqualTo(ServiceMain.EXIT_START_FAILED);
            assertThat(noToken.output().lines().filter(line -> line.startsWith("outbox-relay: cannot start: ")).toList())
                    .singleElement().asString()
                    .contains("ADMIN_HOST=0.0.0.0 is not a loopback address").contains("set ADMIN_TOKEN");
            assertThat(tooShort.waitFor(WAIT)).as(tooShort.output()).isEqualTo(ServiceMain.EXIT_START_FAILED);
            assertThat(tooShort.output()).contains("ADMIN_TOKEN must be at least 16 characters").doesNotContain("short\n");
        }
    }

    @Test
    void with_a_token_every_route_needs_it_and_it_is_never_logged() throws Exception {
        int port = FreePorts.pick();
        Map<String, String> env = env("0.0.0.0", port);
        env.put("ADMIN_TOKEN", TOKEN);
        try (ChildJvm relay = ChildJvm.start(RelayMain.class.getName(), env, ChildJvm.withVerboseLogging())) {
            assertThat(relay.awaitOutput("relaying to", WAIT)).as(relay.output()).isTrue();
            String base = "http://127.0.0.1:" + port;
            for (String path : List.of("/", "/health", "/metrics", "/metrics/prometheus", "/console/rates",
                    "/messages/0193a4c2-7d1e-7a00-8000-000000000000")) {
                assertThat(send(get(base + path)).statusCode()).as("no token: " + path).isEqualTo(401);
                assertThat(send(get(base + path).header("Authorization", "Bearer wrong-" + TOKEN)).statusCode())
                        .as("a wrong token: " + path).isEqualTo(401);
                assertThat(send(get(base + path).header("Authorization", "Bearer " + TOKEN)).statusCode())
                        .as("the token: " + path).isIn(200, 404);
            }
            HttpResponse<String> live = send(get(base + "/health/live"));
            assertThat(live.statusCode()).as("a liveness probe needs no token").isEqualTo(200);
            assertThat(live.body()).as("and learns nothing but up").isEqualTo("{\"status\":\"ok\"}");
            assertThat(send(HttpRequest.newBuilder(URI.create(base + "/health/live"))
                    .method("HEAD", HttpRequest.BodyPublishers.noBody())).statusCode())
                    .as("HEAD, as a probe may send it, needs no token").isEqualTo(200);
            for (String method : List.of("POST", "PUT", "DELETE", "PATCH")) {
                assertThat(send(HttpRequest.newBuilder(URI.create(base + "/health/live"))
                        .method(method, HttpRequest.BodyPublishers.noBody())).statusCode())
                        .as("no token: " + method + " /health/live").isEqualTo(401);
            }
            for (String path : List.of("/login", "/assets/console.css")) {
                assertThat(send(get(base + path)).statusCode()).as("the login page needs no token: " + path).isEqualTo(200);
            }

            HttpResponse<String> refused = send(get(base + "/").header("Accept", "text/html"));
            assertThat(refused.body()).as("a browser gets the login form").contains("name=\"token\"");

            HttpResponse<String> login = send(HttpRequest.newBuilder(URI.create(base + "/login"))
                    .header("Origin", base).header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString("form_token=" + formToken(refused.body()) + "&next=%2F%3Fstatus%3Ddead"
                            + "&token=" + URLEncoder.encode(TOKEN, StandardCharsets.UTF_8))));
            assertThat(login.statusCode()).isEqualTo(303);
            assertThat(login.headers().firstValue("Location")).hasValue("/?status=dead");
            String cookie = login.headers().firstValue("Set-Cookie").orElseThrow();
            assertThat(cookie).startsWith("outboxkit_admin=").contains("HttpOnly").contains("SameSite=Strict")
                    .doesNotContain(TOKEN);
            String session = cookie.substring(0, cookie.indexOf(';'));
            assertThat(send(get(base + "/?status=dead").header("Cookie", session)).statusCode()).isEqualTo(200);
            assertThat(send(get(base + "/").header("Cookie", "outboxkit_admin=" + TOKEN)).statusCode())
                    .as("the token itself is not a session").isEqualTo(401);

            assertThat(relay.stop(WAIT)).as(relay.output()).isIn(0, 143);
            assertThat(relay.output()).as("everything the relay printed").doesNotContain(TOKEN)
                    .doesNotContain(URLEncoder.encode(TOKEN, StandardCharsets.UTF_8));
        }
    }

    private static String formToken(String page) {
        Matcher token = Pattern.compile("name=\"form_token\" value=\"([^\"]+)\"").matcher(page);
        assertThat(token.find()).as("the login form").isTrue();
        return token.group(1);
    }

    private static HttpRequest.Builder get(String url) {
        return HttpRequest.newBuilder(URI.create(url)).GET();
    }

    private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static ChildJvm start(Map<String, String> env) {
        return ChildJvm.start(RelayMain.class.getName(), env, List.of());
    }

    private static Map<String, String> env(String adminHost, int port) {
        Map<String, String> env = TestDatabases.env(db);
        env.put("ADMIN_HOST", adminHost);
        env.put("PORT", Integer.toString(port));
        env.put("CONSUMER_URL", "http://127.0.0.1:1/messages");
        env.put("RELAY_NAME", "admin-token-test");
        return env;
    }
}
