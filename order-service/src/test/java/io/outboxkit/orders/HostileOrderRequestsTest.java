package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.testing.HostileJson;
import io.outboxkit.testing.HostileRequest;
import io.outboxkit.testing.HostileRun;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.RawHttp;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The order API survives hostile requests: a generated corpus (seeded; see {@link HostileRun} to
 * replay) of mutated order bodies, odd ids and paths, wrong methods, content types and
 * Idempotency-Keys, and a hand-written list of classics, all sent over a raw socket. Each request
 * gets what {@link OrderRequestOracle} says: a 201 creates exactly the order asked for (one order,
 * one outbox message, one key if keyed); anything else is a 4xx with {@code {"error": "..."}}, no
 * stack trace, and not a row written in orders, outbox or idempotency_keys.
 */
class HostileOrderRequestsTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OrderServiceMain.SCHEMA::apply, 4);

    private static final List<String> CONTENT_TYPES = List.of("application/json; charset=utf-8", "APPLICATION/JSON",
            "application/json;charset=bogus", "application/json; charset=utf-16", "application/jsonp", " application/json",
            "text/plain", "text/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "*/*",
            "application/xml", "application/json\u0000", "application/\u202ejson", "x".repeat(5000));
    private static final List<String> OTHER_METHODS = List.of("PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "GET",
            "BREW", "post", "Get", "PROPFIND", "M-SEARCH", "X".repeat(300));
    private static final List<String> OTHER_PATHS = List.of("/orders", "/orders/", "//orders", "/ORDERS", "/order",
            "/orders.json", "/", "/orders?user_id=1", "/orders/%2e%2e", "/%00", "/orders/../orders", "/orders;x=1",
            "/orders/%2F", "/.%2e/orders", "/orders/\u00e9", "/orders//pay", "*", "/orders/" + "a".repeat(9000));

    private static RunningOrderService service;
    private static RawHttp http;

    @BeforeAll
    static void start() {
        service = RunningOrderService.start(db);
        http = new RawHttp("127.0.0.1", service.port());
    }

    @AfterAll
    static void stop() {
        service.close();
    }

    @Test
    void every_generated_request_gets_what_the_rules_say_and_writes_nothing_else() {
        HostileRun run = HostileRun.of("HostileOrderRequestsTest", 2500);
        OrderRequestOracle oracle = new OrderRequestOracle();

        run.forEachCase(index -> check(generate(HostileJson.forCase(run.seed(), index)), oracle));
    }

    static Stream<Arguments> classics() {
        String user = "550e8400-e29b-41d4-a716-446655440000";
        String valid = "{\"user_id\": \"" + user + "\", \"amount\": 12.50}";
        return Stream.of(
                create("SQL in user_id", "{\"user_id\": \"'; DROP TABLE orders; --\", \"amount\": 1}"),
                create("SQL as the amount", "{\"user_id\": \"" + user + "\", \"amount\": \"1; DROP TABLE orders\"}"),
                create("SQL as an unknown field", "{\"user_id\": \"" + user + "\", \"amount\": 1, \"'); DELETE FROM outbox; --\": 1}"),
                create("prototype pollution", "{\"user_id\": \"" + user + "\", \"amount\": 1, \"__proto__\": {\"admin\": true}}"),
                create("huge exponent", "{\"user_id\": \"" + user + "\", \"amount\": 1e999999999}"),
                create("huge negative exponent", "{\"user_id\": \"" + user + "\", \"amount\": 1e-999999999}"),
                create("an exponent beyond an int", "{\"user_id\": \"" + user + "\", \"amount\": 1e9999999999}"),
                create("a negative exponent beyond an int", "{\"user_id\": \"" + user + "\", \"amount\": 1e-9999999999}"),
                create("a number of 100 digits", "{\"user_id\": \"" + user + "\", \"amount\": " + "9".repeat(100) + "}"),
                create("a number of 101 digits", "{\"user_id\": \"" + user + "\", \"amount\": 0." + "0".repeat(98) + "1}"),
                create("the largest long plus one", "{\"user_id\": \"" + user + "\", \"amount\": 9223372036854775808}"),
                create("half a cent beyond the max", "{\"user_id\": \"" + user + "\", \"amount\": 99999999.995}"),
                create("NUL in user_id", "{\"user_id\": \"" + user + "\\u0000\", \"amount\": 1}"),
                create("a lone surrogate in user_id", "{\"user_id\": \"\\ud800" + user.substring(1) + "\", \"amount\": 1}"),
                create("a lone surrogate as an unknown field", "{\"user_id\": \"" + user + "\", \"amount\": 1, \"\\udc00\": 1}"),
                create("right-to-left override in user_id", "{\"user_id\": \"\u202e" + user + "\", \"amount\": 1}"),
                create("an upper-case UUID (valid)", "{\"user_id\": \"" + user.toUpperCase() + "\", \"amount\": 1}"),
                create("Cyrillic look-alike in user_id", "{\"user_id\": \"550\u04358400-e29b-41d4-a716-446655440000\", \"amount\": 1}"),
                create("deep nesting", "[".repeat(8000) + "]".repeat(8000)),
                create("deep nesting in a field", "{\"user_id\": \"" + user + "\", \"amount\": 1, \"x\": " + "{\"a\":".repeat(70)
                        + "1" + "}".repeat(70) + "}"),
                create("a body of 100 KiB", "{\"user_id\": \"" + user + "\", \"amount\": 1, \"pad\": \"" + "x".repeat(100 * 1024) + "\"}"),
                create("NUL as the body", "\u0000"),
                create("a byte-order mark and a valid body", "\ufeff" + valid),
                create("trailing comma", "{\"user_id\": \"" + user + "\", \"amount\": 1,}"),
                create("a comment", "{\"user_id\": \"" + user + "\", /* hi */ \"amount\": 1}"),
                create("single quotes", "{'user_id': '" + user + "', 'amount': 1}"),
                create("a JSON string holding the body", "\"" + valid.replace("\"", "\\\"") + "\""),
                create("an array of orders", "[" + valid + "," + valid + "]"),
                create("a template string in user_id", "{\"user_id\": \"${jndi:ldap://127.0.0.1/a}\", \"amount\": 1}"),
                Arguments.of("UTF-16 encoded body", HostileRequest.of("POST", "/orders",
                        valid.getBytes(StandardCharsets.UTF_16LE), "Content-Type", "application/json")),
                Arguments.of("invalid UTF-8 bytes", HostileRequest.of("POST", "/orders",
                        new byte[] {'{', '"', (byte) 0xff, (byte) 0xfe, '"', ':', '1', '}'}, "Content-Type", "application/json")),
                headers("an unknown charset", "Content-Type", "application/json; charset=bogus"),
                headers("a 10 KB content type", "Content-Type", "application/json; x=" + "y".repeat(10_000)),
                headers("no content type"),
                headers("SQL in the content type", "Content-Type", "application/json'; DROP TABLE orders; --"),
                headers("an Idempotency-Key of 201 characters", "Content-Type", "application/json", "Idempotency-Key", "k".repeat(201)),
                headers("an Idempotency-Key with NUL", "Content-Type", "application/json", "Idempotency-Key", "a\u0000b"),
                headers("an Idempotency-Key with right-to-left override", "Content-Type", "application/json",
                        "Idempotency-Key", "\u202ekey"),
                headers("a header of 20 KB", "Content-Type", "application/json", "X-Big", "x".repeat(20_000)),
                other("PUT /orders", "PUT", "/orders"),
                other("DELETE an order", "DELETE", "/orders/" + user),
                other("PATCH an order", "PATCH", "/orders/" + user),
                other("TRACE", "TRACE", "/orders"),
                other("an unknown method", "BREW", "/orders"),
                other("a lower-case method", "post", "/orders"),
                other("NUL in the id", "GET", "/orders/%00"),
                other("a bad percent-encoding", "GET", "/orders/%ZZ"),
                other("encoded dot-dot segments", "GET", "/orders/..%2f..%2fetc%2fpasswd"),
                other("dot-dot segments", "GET", "/orders/../../etc/passwd"),
                other("raw UTF-8 in the path", "GET", "/orders/\u00e9"),
                other("invalid UTF-8 in the path", "GET", "/orders/%C3%28"),
                other("SQL in the id", "POST", "/orders/'%3B%20DROP%20TABLE%20orders%3B%20--/pay"),
                other("an id of 400 characters", "GET", "/orders/" + "9".repeat(400)),
                other("a UUID with NUL after it", "POST", "/orders/" + user + "%00/cancel"),
                other("a path parameter", "GET", "/orders/" + user + ";x=1"),
                other("a path of 20 KB", "GET", "/orders/" + "a".repeat(20_000)),
                other("an absolute URI with another host", "GET", "http://evil.example/orders/" + user),
                raw("a body shorter than its Content-Length", "POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n" + valid),
                raw("a broken chunked body", "POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + valid + "\r\n0\r\n\r\n"),
                raw("a Content-Length that is not a number", "POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        + "Content-Type: application/json\r\nContent-Length: abc\r\n\r\n" + valid),
                raw("two Content-Lengths", "POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 3\r\nContent-Length: " + valid.length() + "\r\n\r\n" + valid),
                raw("Content-Length and chunked", "POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                raw("a huge Content-Length", "POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n" + valid),
                raw("no Host header", "GET /orders/" + user + " HTTP/1.1\r\nConnection: close\r\n\r\n"),
                raw("a header without a colon", "GET /orders/" + user + " HTTP/1.1\r\nHost: x\r\nnonsense\r\nConnection: close\r\n\r\n"),
                raw("a space in the path", "GET /orders/a b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("classics")
    void every_classic_gets_what_the_rules_say_and_writes_nothing_else(String what, HostileRequest request) {
        String problem = check(request, new OrderRequestOracle());

        assertThat(problem).as(what).isNull();
    }

    /** Sends {@code request}; null when the answer and the tables are what the oracle says, else what is wrong. */
    private static String check(HostileRequest request, OrderRequestOracle oracle) {
        OrderRequestOracle.Expected expected = oracle.expect(request);
        long[] before = counts();
        RawHttp.Response response = request.send(http);
        long[] after = counts();
        String problem = expected.succeeds() ? createdProblem(expected, response, before, after)
                : refusedProblem(expected, response, before, after);
        if (problem == null && expected.succeeds()) {
            oracle.succeeded(request, expected);
        }
        return problem == null ? null : problem + "\n    request: " + request.describe() + "\n    answer: "
                + response.status() + " " + HostileRequest.show(response.body());
    }

    private static String refusedProblem(OrderRequestOracle.Expected expected, RawHttp.Response response, long[] before,
                                         long[] after) {
        String why = HostileRequest.whyNotAJsonClientError(response);
        if (why != null) {
            return "expected a JSON 4xx" + (expected.statuses() == null ? "" : " " + expected.statuses()) + ", got " + why;
        }
        if (expected.statuses() != null && !expected.statuses().contains(response.status())) {
            return "expected status " + expected.statuses() + ", got " + response.status();
        }
        return changed(before, after, 0, 0, 0);
    }

    private static String createdProblem(OrderRequestOracle.Expected expected, RawHttp.Response response, long[] before,
                                         long[] after) {
        if (response.status() != 201) {
            return "expected 201 for a valid order, got " + response.status();
        }
        if (expected.replay()) {
            boolean replayed = response.header("Idempotent-Replayed").filter("true"::equals).isPresent();
            return replayed ? changed(before, after, 0, 0, 0) : "expected the replay of the earlier answer";
        }
        JsonNode order;
        try {
            order = Jsons.mapper().readTree(response.body());
        } catch (IOException e) {
            return "a 201 whose body is not JSON";
        }
        if (!expected.userId().toString().equals(order.path("user_id").asText())
                || order.path("amount").decimalValue().compareTo(expected.amount()) != 0
                || !"CREATED".equals(order.path("status").asText())) {
            return "the order created is not the one asked for (" + expected.userId() + ", " + expected.amount() + ")";
        }
        long stored = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM orders o JOIN outbox m "
                        + "ON m.aggregate_id = o.id::text AND m.event_type = 'OrderCreated' "
                        + "WHERE o.id = CAST(:id AS uuid) AND o.user_id = :user AND o.amount = :amount")
                .bind("id", order.path("id").asText()).bind("user", expected.userId()).bind("amount", expected.amount())
                .mapTo(Long.class).one());
        if (stored != 1) {
            return "the order and its OrderCreated message are not stored as answered";
        }
        return changed(before, after, 1, 1, expected.key() == null ? 0 : 1);
    }

    /** Null when each table grew by what is expected, else which did not. */
    private static String changed(long[] before, long[] after, long orders, long outbox, long keys) {
        long[] expected = {orders, outbox, keys};
        String[] tables = {"orders", "outbox", "idempotency_keys"};
        StringBuilder problem = new StringBuilder();
        for (int i = 0; i < tables.length; i++) {
            if (after[i] - before[i] != expected[i]) {
                problem.append(tables[i]).append(" changed by ").append(after[i] - before[i]).append(" (expected ")
                        .append(expected[i]).append(") ");
            }
        }
        return problem.length() == 0 ? null : problem.toString().trim();
    }

    private static long[] counts() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM outbox), "
                        + "(SELECT count(*) FROM idempotency_keys)")
                .map((rs, ctx) -> new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)})
                .one());
    }

    // ---- the generator ----

    private static HostileRequest generate(HostileJson g) {
        int kind = g.random().nextInt(100);
        if (kind < 75) {
            return createRequest(g);
        }
        if (kind < 90) {
            return orderRequest(g);
        }
        return HostileRequest.of(g.pick(OTHER_METHODS), g.pick(OTHER_PATHS), g.random().nextBoolean() ? null
                : g.mutate(validBody(g.random())), "Content-Type", "application/json");
    }

    /** POST /orders: a mutated body (sometimes a valid one), a content type, maybe an Idempotency-Key. */
    private static HostileRequest createRequest(HostileJson g) {
        Random random = g.random();
        ObjectNode valid = validBody(random);
        byte[] body = random.nextInt(20) == 0 ? g.serialize(valid) : g.mutate(valid);
        String type = random.nextInt(100) < 85 ? "application/json" : g.pick(CONTENT_TYPES);
        int keyKind = random.nextInt(10);
        if (keyKind < 5) {
            return HostileRequest.of("POST", "/orders", body, "Content-Type", type);
        }
        String key = keyKind < 9 ? "k-" + Long.toHexString(random.nextLong()) : headerSafe(g.pick(HostileJson.nastyStrings()));
        return HostileRequest.of("POST", "/orders", body, "Content-Type", type, "Idempotency-Key", key);
    }

    /** GET /orders/{id}, POST /orders/{id}/pay|cancel with an odd id (an unknown UUID at best). */
    private static HostileRequest orderRequest(HostileJson g) {
        Random random = g.random();
        String id;
        switch (random.nextInt(4)) {
            case 0 -> id = uuid(random).toString();
            case 1 -> {
                char[] chars = uuid(random).toString().toCharArray();
                String odd = "g-Z{ %\u00e9\u0000";
                chars[random.nextInt(chars.length)] = odd.charAt(random.nextInt(odd.length()));
                id = new String(chars);
            }
            default -> id = g.pick(HostileJson.nastyStrings());
        }
        String encoded = random.nextBoolean() ? percentEncode(id, true) : percentEncode(id, false);
        if (encoded.isEmpty()) {
            encoded = "%20";
        }
        String suffix = g.pick(List.of("", "", "/pay", "/cancel", "/pay/", "/refund", "/status"));
        String method = suffix.isEmpty() ? (random.nextInt(4) == 0 ? g.pick(OTHER_METHODS) : "GET")
                : (random.nextInt(4) == 0 ? g.pick(OTHER_METHODS) : "POST");
        byte[] body = random.nextBoolean() ? null : g.mutate(validBody(random));
        return random.nextBoolean()
                ? HostileRequest.of(method, "/orders/" + encoded + suffix, body, "Content-Type", "application/json")
                : HostileRequest.of(method, "/orders/" + encoded + suffix, body, "Idempotency-Key",
                        "k-" + Long.toHexString(random.nextLong()));
    }

    private static ObjectNode validBody(Random random) {
        ObjectNode body = Jsons.mapper().createObjectNode();
        body.put("user_id", uuid(random).toString());
        body.put("amount", BigDecimal.valueOf(1 + (random.nextLong() & Long.MAX_VALUE) % 9_999_999_999L, random.nextInt(3)));
        return body;
    }

    private static UUID uuid(Random random) {
        return new UUID(random.nextLong(), random.nextLong());
    }

    /**
     * Percent-encodes every byte of the UTF-8 form (all), or only what cannot travel raw in a
     * request line (controls, space, %, #, ?), leaving the rest, non-ASCII included, raw.
     */
    private static String percentEncode(String text, boolean all) {
        StringBuilder out = new StringBuilder();
        if (!all) {
            // as on the wire: a lone surrogate is a '?' there, which must not start a query string
            for (char c : new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8).toCharArray()) {
                boolean raw = c >= 0x80 || c > 0x20 && c != 0x7f && c != '%' && c != '#' && c != '?';
                out.append(raw ? String.valueOf(c) : String.format("%%%02X", (int) c));
            }
            return out.toString();
        }
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            boolean unreserved = c < 0x80 && Character.isLetterOrDigit(c) || "-._~".indexOf(c) >= 0;
            out.append(unreserved ? String.valueOf((char) c) : String.format("%%%02X", c));
        }
        return out.toString();
    }

    /**
     * A header value as it travels: no CR or LF (our own client would start another header line
     * with them), and what UTF-8 cannot encode (a lone surrogate) already replaced, as it is on the wire.
     */
    private static String headerSafe(String value) {
        String sendable = value.replace("\r", "").replace("\n", "");
        return new String(sendable.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
    }

    private static Arguments create(String what, String body) {
        return Arguments.of(what, HostileRequest.of("POST", "/orders", body.getBytes(StandardCharsets.UTF_8),
                "Content-Type", "application/json", "Idempotency-Key", "classic-" + UUID.randomUUID()));
    }

    private static Arguments headers(String what, String... headers) {
        return Arguments.of(what, HostileRequest.of("POST", "/orders",
                "{\"user_id\": \"550e8400-e29b-41d4-a716-446655440000\", \"amount\": 1}".getBytes(StandardCharsets.UTF_8),
                headers));
    }

    private static Arguments other(String what, String method, String target) {
        return Arguments.of(what, HostileRequest.of(method, target, null, "Content-Type", "application/json"));
    }

    private static Arguments raw(String what, String request) {
        return Arguments.of(what, HostileRequest.raw(request));
    }
}
