package io.outboxkit.consumer;

import static io.outboxkit.app.testing.TestDatabases.count;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.app.testing.HttpServerRefusals;
import io.outboxkit.testing.PostgresExtension;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** What the consumer refuses: a 4xx with a JSON error, and nothing written. */
class RejectedMessagesTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply);

    @RegisterExtension
    static final RunningConsumer consumer = new RunningConsumer(db, 8);

    @BeforeEach
    void cleanSlate() {
        db.truncateAll();
    }

    static Stream<Arguments> malformedEnvelopes() {
        return Stream.of(
                malformed("not JSON", "application/json", "{not json", 400),
                malformed("empty body", "application/json", "", 400),
                malformed("a JSON array", "application/json", "[]", 400),
                malformed("two JSON values", "application/json", valid() + " " + valid(), 400),
                malformed("missing id", "application/json", valid(e -> e.remove("id")), 400),
                malformed("id not a UUID", "application/json", valid(e -> e.put("id", "not-a-uuid")), 400),
                malformed("missing event_type", "application/json", valid(e -> e.remove("event_type")), 400),
                malformed("headers not strings", "application/json",
                        valid(e -> e.putObject("headers").put("retries", 3)), 400),
                malformed("created_at garbage", "application/json", valid(e -> e.put("created_at", "yesterday")), 400),
                malformed("negative sequence", "application/json", valid(e -> e.put("sequence", -1)), 400),
                malformed("wrong content type", "text/plain", valid(), 415),
                malformed("no content type", null, valid(), 415),
                malformed("body over the limit, one long string", "application/json",
                        valid(e -> e.putObject("payload").put("filler", "x".repeat((int) ConsumerApp.MAX_BODY_BYTES))), 413));
    }

    @Test
    void a_gzip_encoded_body_is_refused_as_unsupported_naming_its_encoding_and_nothing_is_written() throws Exception {
        ByteArrayOutputStream zipped = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(zipped)) {
            gzip.write(valid().getBytes(StandardCharsets.UTF_8));
        }

        ApiClient.Response response = consumer.api().post("/messages", "application/json", zipped.toByteArray(),
                "Content-Encoding", "gzip");

        assertThat(response.status()).isEqualTo(415);
        assertThat(response.body().path("error").asText())
                .isEqualTo("Content-Encoding gzip is not supported; send the JSON uncompressed");
        assertThat(processedRows()).isZero();
    }

    @ParameterizedTest(name = "{0} -> {3}")
    @MethodSource("malformedEnvelopes")
    void a_malformed_envelope_is_refused_with_a_json_error_and_nothing_is_written(String what, String contentType, String body,
                                                                       int expectedStatus) {
        ApiClient.Response response = consumer.api().post("/messages", contentType, body.getBytes(StandardCharsets.UTF_8));

        assertThat(response.status()).isEqualTo(expectedStatus);
        assertThat(response.body().path("error").isTextual()).as("JSON error body: %s", response.body()).isTrue();
        assertThat(processedRows()).isZero();
    }

    @ParameterizedTest(name = "OrderCreated with {0}")
    @MethodSource("poisonPayloads")
    void a_payload_that_can_never_be_applied_is_unprocessable_and_nothing_is_written(String what, ObjectNode payload) {
        UUID order = UUID.randomUUID();
        ObjectNode envelope = Envelopes.envelope(UUID.randomUUID(), 1, order, "OrderCreated", payload);

        ApiClient.Response response = consumer.api().postJson("/messages", envelope);

        assertThat(response.status()).isEqualTo(422);
        assertThat(response.body().path("error").asText()).contains("OrderCreated", "is invalid");
        assertThat(processedRows()).isZero();
        assertThat(count(db, "SELECT (SELECT count(*) FROM customer_totals) + (SELECT count(*) FROM consumer_order_status)"))
                .isZero();
    }

    static Stream<Arguments> poisonPayloads() {
        String user = UUID.randomUUID().toString();
        return Stream.of(
                Arguments.of("no user_id", payload().put("amount", 10)),
                Arguments.of("no amount", payload().put("user_id", user)),
                Arguments.of("a user_id that is no UUID", payload().put("user_id", "bob").put("amount", 10)),
                Arguments.of("a negative amount", payload().put("user_id", user).put("amount", -5)),
                Arguments.of("an amount with three decimals", payload().put("user_id", user).put("amount", "1.005")),
                Arguments.of("an amount that is no number", payload().put("user_id", user).put("amount", "ten")));
    }

    @Test
    void a_poison_message_can_be_delivered_again_and_is_refused_again() {
        ObjectNode envelope = Envelopes.envelope(UUID.randomUUID(), 1, UUID.randomUUID(), "OrderCreated", payload());

        assertThat(consumer.api().postJson("/messages", envelope).status()).isEqualTo(422);
        assertThat(consumer.api().postJson("/messages", envelope).status()).isEqualTo(422);
        assertThat(processedRows()).isZero();
    }

    private static ObjectNode payload() {
        return io.outboxkit.app.Jsons.mapper().createObjectNode().put("order_id", UUID.randomUUID().toString());
    }

    private static Arguments malformed(String what, String contentType, String body, int status) {
        return Arguments.of(what, contentType, body, status);
    }

    private static String valid() {
        return valid(e -> { });
    }

    private static String valid(Consumer<ObjectNode> change) {
        ObjectNode envelope = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), UUID.randomUUID(), "1.00");
        change.accept(envelope);
        return envelope.toString();
    }

    @Test
    void a_uri_or_a_header_too_long_for_the_http_server_is_a_json_414_or_431_and_nothing_is_written() {
        HttpServerRefusals.assertTooLongRequestsGetJsonErrors(consumer.app().port(), "/messages");

        assertThat(processedRows()).isZero();
    }

    private static long processedRows() {
        return count(db, "SELECT count(*) FROM processed_messages");
    }
}
