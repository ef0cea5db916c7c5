package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.Database;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.app.testing.HttpServerRefusals;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.RawHttp;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The console over plain HTTP: bad input is a readable 4xx that changes nothing, a GET never
 * changes anything, a POST from elsewhere or without its form token is refused, every answer
 * carries the security headers, and without a token only loopback names are answered.
 */
class ConsoleHttpTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply);

    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static final Pattern FORM_TOKEN = Pattern.compile("name=\"form_token\" value=\"([^\"]+)\"");
    static final TestOutbox outbox = new TestOutbox(db);

    static Database database;
    static FakeConsumer consumer;
    static Relay relay;
    UUID dead;

    @BeforeAll
    static void start() {
        database = TestDatabases.open(db, 8, ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
        consumer = new FakeConsumer();
        consumer.answer(request -> new FakeConsumer.Reply(422, "{\"error\":\"refused\"}"));
        relay = Relay.start(database, TestRelays.config(consumer.url(), "RELAY_NAME", "console-http", "MAX_ATTEMPTS", "1"));
    }

    @AfterAll
    static void stop() {
        relay.close();
        consumer.close();
        database.close();
    }

    @BeforeEach
    void aDeadMessage() {
        dead = outbox.write("http-" + UUID.randomUUID(), "OrderCreated");
        await().atMost(Duration.ofSeconds(20)).until(() -> outbox.status(dead) == MessageStatus.DEAD);
    }

    @Test
    void bad_input_gets_a_readable_4xx_page_and_changes_nothing() throws Exception {
        String before = snapshot();
        Map<String, Integer> cases = new java.util.LinkedHashMap<>();
        cases.put("/messages/not-a-uuid", 400);
        cases.put("/messages/" + UUID.randomUUID(), 404);
        cases.put("/?after=-1", 400);
        cases.put("/?after=100000000000000000000", 400);
        cases.put("/?size=0", 400);
        cases.put("/?size=101", 400);
        cases.put("/?status=bogus", 400);
        cases.put("/?stauts=dead", 400);
        cases.put("/?status=dead&status=pending", 400);
        cases.put("/?event_type=%00", 400);
        cases.put("/?aggregate_id=" + "x".repeat(501), 400);
        cases.put("/?refresh=0", 400);
        cases.put("/messages?id=xyz", 400);
        cases.put("/requeue/since?since=yesterday", 400);
        cases.put("/requeue/dead?all=yes", 400);
        cases.put("/nothing-here", 404);
        cases.put("/%ff", 400); // refused by Jetty after it read the Accept
        for (Map.Entry<String, Integer> bad : cases.entrySet()) {
            HttpResponse<String> response = get(bad.getKey(), "text/html");
            assertThat(response.statusCode()).as(bad.getKey()).isEqualTo(bad.getValue());
            assertReadablePage(bad.getKey(), response);
        }
        String token = formToken("/messages/" + dead);
        assertThat(post("/messages/" + UUID.randomUUID() + "/requeue", token, origin()).statusCode()).isEqualTo(404);
        assertThat(post("/messages/not-a-uuid/requeue", token, origin()).statusCode()).isEqualTo(400);
        assertThat(snapshot()).as("the outbox").isEqualTo(before);
    }

    @Test
    void a_query_string_too_long_for_the_http_server_is_a_json_414_even_for_a_browser() {
        RawHttp.Response response = new RawHttp("127.0.0.1", relay.adminPort())
                .request("GET", "/?event_type=" + "y".repeat(20 * 1024), null, "Accept", "text/html");

        // Jetty refuses it before reading the headers, so the Accept asking for HTML is never seen.
        HttpServerRefusals.assertJsonError("a 20 KB query string", response, 414);
        assertThat(response.header("Content-Security-Policy"))
                .hasValueSatisfying(policy -> assertThat(policy).contains("default-src 'none'"));
    }

    @Test
    void a_client_that_does_not_ask_for_html_gets_json_errors() throws Exception {
        HttpResponse<String> response = get("/messages/not-a-uuid", "application/json");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type).startsWith("application/json"));
        assertThat(response.body()).startsWith("{\"error\":").contains("UUID");
    }

    @Test
    void no_get_changes_anything() throws Exception {
        String before = snapshot();
        for (String path : List.of("/", "/?status=dead", "/messages/" + dead, "/console/messages/" + dead,
                "/console/overview", "/console/messages?status=dead", "/console/rates", "/requeue/dead",
                "/requeue/since?since=1d", "/messages/" + dead + "/requeue", "/login", "/logout", "/health", "/metrics")) {
            int status = get(path, "text/html").statusCode();
            assertThat(status).as(path).isIn(200, 303, 404, 405);
        }
        assertThat(snapshot()).isEqualTo(before);
        assertThat(outbox.status(dead)).isEqualTo(MessageStatus.DEAD);
    }

    @Test
    void a_post_from_another_origin_or_without_a_valid_form_token_is_refused() throws Exception {
        String target = "/messages/" + dead + "/requeue";
        String token = formToken("/messages/" + dead);
        String port = Integer.toString(relay.adminPort());

        assertThat(post(target, token, "http://evil.example").statusCode()).as("another site").isEqualTo(403);
        assertThat(post(target, token, "http://127.0.0.1:" + (relay.adminPort() + 1)).statusCode())
                .as("another port").isEqualTo(403);
        assertThat(post(target, null, origin()).statusCode()).as("no form token").isEqualTo(403);
        assertThat(post(target, "forged", origin()).statusCode()).as("a forged form token").isEqualTo(403);
        assertThat(post(target, token.substring(0, token.length() - 2) + "AA", origin()).statusCode())
                .as("an altered form token").isEqualTo(403);
        RawHttp raw = new RawHttp("127.0.0.1", relay.adminPort());
        byte[] form = ("form_token=" + token).getBytes(StandardCharsets.UTF_8);
        assertThat(raw.request("POST", target, form, "Content-Type", "application/x-www-form-urlencoded").status())
                .as("neither Origin nor Referer").isEqualTo(403);
        assertThat(raw.request("POST", target, form, "Content-Type", "application/x-www-form-urlencoded",
                "Origin", origin(), "Sec-Fetch-Site", "cross-site").status()).as("Sec-Fetch-Site: cross-site").isEqualTo(403);
        assertThat(outbox.status(dead)).as("nothing changed").isEqualTo(MessageStatus.DEAD);

        HttpResponse<String> accepted = post(target, token, "http://127.0.0.1:" + port);

        assertThat(accepted.statusCode()).as("the page's own form (the control)").isEqualTo(303);
        assertThat(outbox.entry(dead).message().attempts()).isLessThanOrEqualTo(1);
    }

    @Test
    void every_answer_carries_the_security_headers() throws Exception {
        for (String path : List.of("/", "/messages/" + dead, "/messages/not-a-uuid", "/health", "/health/live",
                "/metrics", "/console/rates")) {
            HttpResponse<String> response = get(path, "text/html");
            String policy = response.headers().firstValue("Content-Security-Policy").orElse("");
            assertThat(policy).as(path).contains("script-src 'self'").contains("frame-ancestors 'none'")
                    .contains("default-src 'none'").doesNotContain("unsafe-inline").doesNotContain("unsafe-eval");
            assertThat(response.headers().firstValue("X-Content-Type-Options")).as(path).hasValue("nosniff");
            assertThat(response.headers().firstValue("Referrer-Policy")).as(path).hasValue("same-origin");
        }
        assertThat(get("/", "text/html").body()).as("no inline script or style on the page")
                .doesNotContainPattern("<script>|<script [^>]*>[^<]|<style|style=\"| on[a-z]+=");
    }

    @Test
    void without_a_token_only_requests_addressed_to_a_loopback_name_are_answered() {
        RawHttp raw = new RawHttp("127.0.0.1", relay.adminPort());
        int port = relay.adminPort();

        assertThat(raw.send(request("rebound.example.com:" + port)).status()).as("DNS rebinding").isEqualTo(403);
        assertThat(raw.send(request("localhost:" + port)).status()).isEqualTo(200);
        assertThat(raw.send(request("127.0.0.1:" + port)).status()).isEqualTo(200);
    }

    @Test
    void the_data_endpoints_a_page_refreshes_with_answer() throws Exception {
        assertThat(get("/console/overview", "text/html").body()).contains("data-count=\"dead\"");
        assertThat(get("/console/messages?status=dead", "text/html").body()).contains("data-id=\"" + dead + "\"");
        assertThat(get("/console/messages/" + dead, "text/html").body()).contains("data-fact=\"status\">DEAD");
        assertThat(get("/console/rates", "application/json").body()).contains("\"delivered\":[").contains("\"failed\":[");
    }

    private static byte[] request(String host) {
        return ("GET /health HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static void assertReadablePage(String what, HttpResponse<String> response) {
        assertThat(response.headers().firstValue("Content-Type")).as(what)
                .hasValueSatisfying(type -> assertThat(type).startsWith("text/html"));
        assertThat(response.body()).as(what).contains("class=\"error-message\"")
                .doesNotContain("Exception").doesNotContain("\tat ");
    }

    private static String snapshot() {
        return String.join("\n", TestDatabases.strings(db, "SELECT id || ' ' || status || ' ' || attempts || ' ' || "
                + "available_at FROM outbox ORDER BY seq"));
    }

    private static String origin() {
        return "http://127.0.0.1:" + relay.adminPort();
    }

    private static String formToken(String page) throws Exception {
        Matcher token = FORM_TOKEN.matcher(get(page, "text/html").body());
        assertThat(token.find()).as("a form on " + page).isTrue();
        return token.group(1);
    }

    private static HttpResponse<String> get(String path, String accept) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(origin() + path)).header("Accept", accept).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(String path, String formToken, String origin) throws Exception {
        String form = formToken == null ? "" : "form_token=" + URLEncoder.encode(formToken, StandardCharsets.UTF_8);
        return http.send(HttpRequest.newBuilder(URI.create(origin() + path)).header("Accept", "text/html")
                .header("Origin", origin).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
