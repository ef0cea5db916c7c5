package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.testing.HttpServerRefusals;
import io.outboxkit.testing.PostgresExtension;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every client mistake gets its 4xx with {@code {"error": "<what is wrong>"}}, never a 500 or a
 * stack trace, and writes nothing: no order, no outbox message, no idempotency key (each bad
 * request carries a fresh Idempotency-Key to prove it).
 */
class BadInputTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OrderServiceMain.SCHEMA::apply);

    private static final String USER = "\"user_id\": \"" + UUID.randomUUID() + "\"";
    private static final String JSON = RunningOrderService.JSON;

    private static RunningOrderService service;
    private static Rows rows;

    @BeforeAll
    static void start() {
        service = RunningOrderService.start(db);
        rows = new Rows(db.jdbi());
    }

    @AfterAll
    static void stop() {
        service.close();
    }

    @AfterEach
    void nothing_was_written() {
        assertThat(rows.count("orders")).isZero();
        assertThat(rows.count("outbox")).isZero();
        assertThat(rows.count("idempotency_keys")).isZero();
    }

    /** A bad POST /orders body, sent as application/json, and the status it must get. */
    record BadBody(String what, String body, int status, String error) {
        @Override
        public String toString() {
            return what;
        }
    }

    static Stream<BadBody> badBodies() {
        return Stream.of(
                new BadBody("malformed JSON", "{\"user_id\": ", 400, "not valid JSON"),
                new BadBody("plain text", "hello", 400, "not valid JSON"),
                new BadBody("empty body", "", 400, "empty"),
                new BadBody("an array", "[]", 400, "JSON object"),
                new BadBody("a string", "\"order\"", 400, "JSON object"),
                new BadBody("null", "null", 400, "JSON object"),
                new BadBody("a number", "42", 400, "JSON object"),
                new BadBody("two objects", "{" + USER + ", \"amount\": 1} {}", 400, "not valid JSON"),
                new BadBody("empty object", "{}", 400, "user_id is required"),
                new BadBody("missing user_id", "{\"amount\": 10}", 400, "user_id is required"),
                new BadBody("null user_id", "{\"user_id\": null, \"amount\": 10}", 400, "user_id is required"),
                new BadBody("numeric user_id", "{\"user_id\": 12, \"amount\": 10}", 400, "user_id must be a UUID"),
                new BadBody("user_id not a UUID", "{\"user_id\": \"bob\", \"amount\": 10}", 400, "user_id must be a UUID"),
                new BadBody("user_id short UUID form", "{\"user_id\": \"1-1-1-1-1\", \"amount\": 10}", 400,
                        "user_id must be a UUID"),
                new BadBody("user_id object", "{\"user_id\": {}, \"amount\": 10}", 400, "user_id must be a UUID"),
                new BadBody("missing amount", "{" + USER + "}", 400, "amount is required"),
                new BadBody("null amount", "{" + USER + ", \"amount\": null}", 400, "amount is required"),
                new BadBody("amount as a string", "{" + USER + ", \"amount\": \"100\"}", 400, "JSON number"),
                new BadBody("amount true", "{" + USER + ", \"amount\": true}", 400, "JSON number"),
                new BadBody("amount array", "{" + USER + ", \"amount\": [1]}", 400, "JSON number"),
                new BadBody("zero amount", "{" + USER + ", \"amount\": 0}", 400, "greater than 0"),
                new BadBody("negative amount", "{" + USER + ", \"amount\": -5.00}", 400, "greater than 0"),
                new BadBody("three decimals", "{" + USER + ", \"amount\": 100.123}", 400, "at most 2 decimals"),
                new BadBody("a tenth of a cent", "{" + USER + ", \"amount\": 0.001}", 400, "at most 2 decimals"),
                new BadBody("beyond numeric(10,2)", "{" + USER + ", \"amount\": 100000000}", 400, "at most 99999999.99"),
                new BadBody("just beyond the max", "{" + USER + ", \"amount\": 99999999.999}", 400, "at most"),
                new BadBody("huge exponent", "{" + USER + ", \"amount\": 1e999999999}", 400, "at most"),
                new BadBody("tiny exponent", "{" + USER + ", \"amount\": 1e-999999999}", 400, "at most 2 decimals"),
                new BadBody("negative huge exponent", "{" + USER + ", \"amount\": -1E+999999999}", 400, "greater than 0"),
                new BadBody("150-digit amount", "{" + USER + ", \"amount\": " + "9".repeat(150) + "}", 400,
                        "not valid JSON"),
                new BadBody("NaN", "{" + USER + ", \"amount\": NaN}", 400, "not valid JSON"),
                new BadBody("Infinity", "{" + USER + ", \"amount\": Infinity}", 400, "not valid JSON"),
                new BadBody("unknown field", "{" + USER + ", \"amount\": 1, \"coupon\": \"FREE\"}", 400,
                        "unknown field \"coupon\""),
                new BadBody("duplicate amount", "{" + USER + ", \"amount\": 1, \"amount\": 2}", 400, "Duplicate field"),
                new BadBody("duplicate user_id", "{" + USER + ", " + USER + ", \"amount\": 1}", 400, "Duplicate field"),
                new BadBody("deep nesting", "{" + USER + ", \"amount\": 1, \"x\": " + "[".repeat(100) + "]".repeat(100)
                        + "}", 400, "not valid JSON"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badBodies")
    void a_bad_order_body_is_refused(BadBody bad) {
        HttpResponse<String> response = service.post("/orders", bad.body(), "Idempotency-Key", UUID.randomUUID().toString());

        assertClientError(response, bad.status(), bad.error());
    }

    static Stream<String[]> badContentTypes() {
        return Stream.of(new String[] {"missing", null}, new String[] {"text/plain", "text/plain"},
                new String[] {"form", "application/x-www-form-urlencoded"});
    }

    @ParameterizedTest(name = "Content-Type {0}")
    @MethodSource("badContentTypes")
    void a_body_that_is_not_declared_json_is_415(String what, String contentType) {
        HttpResponse<String> response = service.send("/orders", "POST", contentType,
                "{" + USER + ", \"amount\": 1}", "Idempotency-Key", UUID.randomUUID().toString());

        assertClientError(response, 415, "Content-Type must be application/json");
    }

    @Test
    void a_body_over_16_KiB_is_413() {
        String body = "{" + USER + ", \"amount\": 1, \"pad\": \"" + "x".repeat(17 * 1024) + "\"}";

        HttpResponse<String> response = service.post("/orders", body, "Idempotency-Key", UUID.randomUUID().toString());

        assertClientError(response, 413, "too large");
    }

    @Test
    void an_idempotency_key_over_200_characters_is_400() {
        HttpResponse<String> response = service.post("/orders", "{" + USER + ", \"amount\": 1}",
                "Idempotency-Key", "k".repeat(201));

        assertClientError(response, 400, "Idempotency-Key must be 1 to 200");
    }

    @Test
    void a_blank_idempotency_key_is_400() {
        HttpResponse<String> response = service.post("/orders", "{" + USER + ", \"amount\": 1}",
                "Idempotency-Key", " ");

        assertClientError(response, 400, "Idempotency-Key must be 1 to 200");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedIds")
    void an_order_id_that_is_not_a_uuid_is_400(String method, String path) {
        HttpResponse<String> response = service.send(path, method, null, null,
                "Idempotency-Key", UUID.randomUUID().toString());

        assertClientError(response, 400, "order id must be a UUID");
    }

    static Stream<String[]> malformedIds() {
        return Stream.of(new String[] {"GET", "/orders/42"}, new String[] {"GET", "/orders/not-a-uuid"},
                new String[] {"POST", "/orders/1-1-1-1-1/pay"}, new String[] {"POST", "/orders/%20/cancel"});
    }

    @Test
    void an_unknown_path_is_a_json_404_and_a_wrong_method_a_json_405() {
        assertClientError(service.get("/nowhere"), 404, "not found");
        assertClientError(service.send("/orders", "GET", null, null), 405, "not allowed");
    }

    @Test
    void a_uri_or_a_header_too_long_for_the_http_server_is_a_json_414_or_431() {
        HttpServerRefusals.assertTooLongRequestsGetJsonErrors(service.port(), "/orders");
    }

    private static void assertClientError(HttpResponse<String> response, int status, String error) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/json"));
        assertThat(response.body()).doesNotContain("Exception").doesNotContain("at io.").doesNotContain("\tat ");
        JsonNode json = RunningOrderService.json(response);
        assertThat(json.isObject()).isTrue();
        assertThat(List.of(json.fieldNames().next())).containsExactly("error");
        assertThat(json.size()).isEqualTo(1);
        assertThat(json.get("error").asText()).contains(error);
    }
}
