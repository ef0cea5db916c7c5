package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.testing.HostileJson;
import io.outboxkit.testing.HostileRequest;
import io.outboxkit.testing.HostileRun;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.RawHttp;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The consumer survives hostile deliveries: a generated corpus (seeded; see {@link HostileRun} to
 * replay) of mutated envelopes on {@code POST /messages} and {@code POST /messages/batch}, odd
 * paths and methods, and a hand-written list of classics, all over a raw socket. Each gets what
 * {@link EnvelopeOracle} says: a malformed envelope is a 400 (in a batch, "failed" when its id can
 * be read, else the batch is refused whole), a payload that can never be applied a 422, and neither writes anything to processed_messages,
 * customer_totals, consumer_order_status or consumer_ordering_violations; an envelope that is
 * well-formed is processed once with exactly its effect. Every refusal is a 4xx with
 * {@code {"error": "..."}} and no stack trace.
 */
class HostileEnvelopesTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply, 4);

    private static final String CONSUMER = "loyalty";
    private static final List<String> EVENT_TYPES = List.of("OrderCreated", "OrderCreated", "OrderPaid", "OrderCancelled",
            "CustomerRenamed");
    private static final List<String> CONTENT_TYPES = List.of("application/json; charset=utf-8", "application/json;charset=bogus",
            "text/plain", "application/x-www-form-urlencoded", "", "application/xml", "APPLICATION/JSON");
    private static final List<String> METHODS = List.of("GET", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "BREW", "post");
    private static final List<String> PATHS = List.of("/messages", "/messages/batch", "/messages/", "/message", "//messages",
            "/MESSAGES", "/messages/batch/x", "/messages/%00", "/messages/..%2fbatch", "/", "/messages?x=%ZZ", "/customers/",
            "/customers/x", "/orders/x/status", "/orders//status");

    @RegisterExtension
    static final RunningConsumer consumer = new RunningConsumer(db, 8, CONSUMER);

    @Test
    void every_generated_delivery_gets_what_the_rules_say_and_writes_only_its_effect() {
        HostileRun run = HostileRun.of("HostileEnvelopesTest", 2000);
        EnvelopeOracle oracle = new EnvelopeOracle();

        run.forEachCase(index -> check(generate(HostileJson.forCase(run.seed(), index)), oracle));
    }

    static Stream<Arguments> classics() {
        return Stream.of(
                envelope("SQL in every name", e -> e.put("aggregate_type", "'; DROP TABLE processed_messages; --")
                        .put("event_type", "Order'); DELETE FROM customer_totals; --")),
                envelope("SQL in a header", e -> e.putObject("headers").put("'; DROP TABLE outbox; --", "' OR '1'='1")),
                envelope("SQL as the user", e -> ((ObjectNode) e.get("payload")).put("user_id", "'; DROP TABLE customer_totals; --")),
                envelope("NUL in the aggregate id", e -> e.put("aggregate_id", "a\u0000b")),
                envelope("a lone surrogate as the event type", e -> e.put("event_type", "\ud800")),
                envelope("right-to-left override in the event type", e -> e.put("event_type", "\u202eOrderCreated")),
                envelope("an upper-case id (valid)", e -> e.put("id", e.get("id").asText().toUpperCase())),
                envelope("sequence 2^63", e -> e.set("sequence", Jsons.mapper().getNodeFactory().numberNode(
                        new java.math.BigInteger("9223372036854775808")))),
                envelope("sequence 1.5", e -> e.put("sequence", new BigDecimal("1.5"))),
                envelope("negative attempts", e -> e.put("attempts", -1)),
                envelope("created_at in year 1000000000", e -> e.put("created_at", "+1000000000-01-01T00:00:00Z")),
                envelope("an event type of 201 characters", e -> e.put("event_type", "E".repeat(201))),
                envelope("an amount of 1e9999999999", e -> ((ObjectNode) e.get("payload")).set("amount",
                        Jsons.mapper().getNodeFactory().rawValueNode(new com.fasterxml.jackson.databind.util.RawValue("1e9999999999")))),
                envelope("an amount of a million digits as a string",
                        e -> ((ObjectNode) e.get("payload")).put("amount", "0." + "0".repeat(1_000_000) + "1")),
                envelope("an amount of 10^10 as a string", e -> ((ObjectNode) e.get("payload")).put("amount", "1e10")),
                envelope("a payload that is a string", e -> e.put("payload", "{\"order_id\": 1}")),
                envelope("a payload that is null", e -> e.putNull("payload")),
                envelope("nesting 100 deep in the payload", e -> e.set("payload", Jsons.mapper().getNodeFactory().rawValueNode(
                        new com.fasterxml.jackson.databind.util.RawValue("{\"a\":".repeat(100) + "1" + "}".repeat(100))))),
                envelope("nesting 100 deep beside the fields read", e -> ((ObjectNode) e.get("payload")).set("meta",
                        Jsons.mapper().getNodeFactory().rawValueNode(
                                new com.fasterxml.jackson.databind.util.RawValue("[".repeat(100) + "]".repeat(100))))),
                body("two envelopes in one body", valid() + valid()),
                body("a body over the limit", "{\"pad\": \"" + "x".repeat((int) ConsumerApp.MAX_BODY_BYTES) + "\"}"),
                body("nesting 10000 deep", "[".repeat(10_000) + "]".repeat(10_000)),
                batch("a batch of 1001", "{\"messages\": [" + String.join(",", java.util.Collections.nCopies(1001, valid())) + "]}"),
                batch("an empty batch", "{\"messages\": []}"),
                batch("a batch whose last envelope is malformed", "{\"messages\": [" + valid() + "," + valid() + ", {}]}"),
                batch("a batch with the same envelope twice", twice()),
                batch("a batch with an unknown field", "{\"messages\": [" + valid() + "], \"x\": 1}"),
                batch("a batch of nulls", "{\"messages\": [null, null]}"),
                Arguments.of("an unknown charset", HostileRequest.of("POST", "/messages", valid().getBytes(StandardCharsets.UTF_8),
                        "Content-Type", "application/json; charset=bogus")),
                Arguments.of("invalid UTF-8", HostileRequest.of("POST", "/messages",
                        new byte[] {'{', '"', (byte) 0xc0, (byte) 0xaf, '"', ':', '1', '}'}, "Content-Type", "application/json")),
                Arguments.of("a body shorter than its Content-Length", HostileRequest.raw("POST /messages HTTP/1.1\r\nHost: x\r\n"
                        + "Connection: close\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n" + valid())),
                Arguments.of("a broken chunked body", HostileRequest.raw("POST /messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")),
                Arguments.of("NUL in a customer id", HostileRequest.of("GET", "/customers/%00", null)),
                Arguments.of("SQL as a customer id", HostileRequest.of("GET", "/customers/'%3B%20DROP%20TABLE%20customer_totals%3B--", null)),
                Arguments.of("DELETE a message", HostileRequest.of("DELETE", "/messages", null)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("classics")
    void every_classic_gets_what_the_rules_say_and_writes_only_its_effect(String what, HostileRequest request) {
        long started = System.nanoTime();

        String problem = check(request, new EnvelopeOracle());

        assertThat(problem).as(what).isNull();
        assertThat((System.nanoTime() - started) / 1_000_000).as("%s: answered within 5 s", what).isLessThan(5_000);
    }

    @Test
    void a_customer_total_beyond_what_the_table_holds_is_refused_as_unusable_not_an_error() throws IOException {
        UUID user = UUID.randomUUID();
        String amount = "9999999999.99"; // the largest the consumer takes; customer_totals holds 999999999999.99
        for (int i = 0; i < 100; i++) {
            assertThat(deliver(Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), user, amount)).status())
                    .as("order %d", i).isEqualTo(200);
        }
        long[] before = counts();

        RawHttp.Response overflow = deliver(Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), user, amount));

        assertThat(overflow.status()).as(overflow.text()).isEqualTo(422);
        assertThat(HostileRequest.whyNotAJsonClientError(overflow)).isNull();
        assertThat(counts()).isEqualTo(before);

        ObjectNode fits = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), UUID.randomUUID(), "1.00");
        ObjectNode tooMuch = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), user, amount);
        RawHttp.Response batch = HostileRequest.of("POST", "/messages/batch", ("{\"messages\": [" + fits + "," + tooMuch + "]}")
                .getBytes(StandardCharsets.UTF_8), "Content-Type", "application/json").send(http());

        assertThat(batch.status()).as(batch.text()).isEqualTo(200);
        JsonNode results = Jsons.mapper().readTree(batch.body()).path("results");
        assertThat(results.get(0).path("status").asText()).isEqualTo("processed");
        assertThat(results.get(1).path("status").asText()).isEqualTo("failed");
        assertThat(results.get(1).path("error").asText()).contains("would exceed");
        assertThat(counts()[0]).as("only the message that fits is processed").isEqualTo(before[0] + 1);
    }

    // ---- checking one request ----

    /** Sends {@code request}; null when the answer and the tables are what the oracle says, else what is wrong. */
    private static String check(HostileRequest request, EnvelopeOracle oracle) {
        Expectation expected = expect(request, oracle);
        long[] before = counts();
        RawHttp.Response response = request.send(http());
        long[] after = counts();
        String problem = expected.problemWith(response, before, after);
        if (problem == null) {
            expected.verdicts().forEach(oracle::commit);
        }
        return problem == null ? null : problem + "\n    request: " + request.describe() + "\n    answer: "
                + response.status() + " " + HostileRequest.show(response.body());
    }

    /** What the consumer must answer and write. */
    private record Expectation(Integer status, boolean batch, List<EnvelopeOracle.Verdict> verdicts, long[] delta) {

        static Expectation refused(Integer status) {
            return new Expectation(status, false, List.of(), new long[6]);
        }

        String problemWith(RawHttp.Response response, long[] before, long[] after) {
            if (verdicts.isEmpty()) {
                String why = HostileRequest.whyNotAJsonClientError(response);
                if (why != null) {
                    return "expected a JSON 4xx" + (status == null ? "" : " " + status) + ", got " + why;
                }
                if (status != null && response.status() != status) {
                    return "expected " + status + ", got " + response.status();
                }
            } else if (response.status() != status) {
                return "expected " + status + ", got " + response.status();
            } else if (status == 422) {
                if (HostileRequest.whyNotAJsonClientError(response) != null) {
                    return "a 422 that is not a JSON error";
                }
            } else {
                String why = answerProblem(response);
                if (why != null) {
                    return why;
                }
            }
            long[] changed = new long[6];
            for (int i = 0; i < 6; i++) {
                changed[i] = after[i] - before[i];
            }
            if (!Arrays.equals(changed, delta)) {
                return "the tables changed by " + Arrays.toString(changed) + ", expected " + Arrays.toString(delta)
                        + " (processed, customers, order count, total amount in cents, order views, violations)";
            }
            return null;
        }

        private String answerProblem(RawHttp.Response response) {
            JsonNode body;
            try {
                body = Jsons.mapper().readTree(response.body());
            } catch (IOException e) {
                return "a 200 whose body is not JSON";
            }
            if (!batch) {
                String expected = verdicts.get(0).kind() == EnvelopeOracle.Kind.DUPLICATE ? "duplicate" : "processed";
                return expected.equals(body.path("status").asText()) ? null : "expected status " + expected + " in " + body;
            }
            JsonNode results = body.path("results");
            if (results.size() != verdicts.size()) {
                return "expected " + verdicts.size() + " results in " + body;
            }
            for (int i = 0; i < verdicts.size(); i++) {
                List<String> expected = switch (verdicts.get(i).kind()) {
                    case DUPLICATE -> List.of("duplicate");
                    case FAILED -> List.of("failed");
                    case REPEATED_FAILURE -> List.of("failed", "duplicate");
                    default -> List.of("processed");
                };
                if (!expected.contains(results.get(i).path("status").asText())
                        || !verdicts.get(i).id().toString().equals(results.get(i).path("id").asText())) {
                    return "expected result " + i + " to be " + expected + " for " + verdicts.get(i).id() + " in " + body;
                }
            }
            return null;
        }
    }

    private static Expectation expect(HostileRequest request, EnvelopeOracle oracle) {
        String path = request.target() == null ? null : request.target().replaceFirst("\\?.*$", "");
        if (path != null && path.length() > 1 && path.endsWith("/")) {
            path = path.substring(0, path.length() - 1); // the routes ignore a trailing slash
        }
        boolean single = "POST".equals(request.method()) && "/messages".equals(path);
        boolean batch = "POST".equals(request.method()) && "/messages/batch".equals(path);
        if (!single && !batch) {
            return Expectation.refused(null);
        }
        if (request.headers().stream().anyMatch(v -> v.chars().anyMatch(c -> c < 0x20 && c != '\t' || c == 0x7f))) {
            return Expectation.refused(null);
        }
        String type = request.header("Content-Type");
        if (type == null || !type.strip().toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
            return Expectation.refused(415);
        }
        if (request.body() != null && request.body().length > ConsumerApp.MAX_BODY_BYTES) {
            return Expectation.refused(413);
        }
        JsonNode root = EnvelopeOracle.parse(request.body() == null ? new byte[0] : request.body(), single);
        List<JsonNode> envelopes = new ArrayList<>();
        if (single) {
            envelopes.add(root);
        } else {
            if (root == null || !root.isObject() || root.size() != 1 || !root.path("messages").isArray()
                    || root.path("messages").isEmpty() || root.path("messages").size() > MessageEndpoints.MAX_BATCH) {
                return Expectation.refused(400);
            }
            root.path("messages").forEach(envelopes::add);
        }
        // judge in order, as the consumer processes them; an id repeated in the batch is judged by its first place
        List<EnvelopeOracle.Verdict> verdicts = new ArrayList<>();
        java.util.Map<UUID, EnvelopeOracle.Kind> firstInBatch = new java.util.HashMap<>();
        for (JsonNode envelope : envelopes) {
            EnvelopeOracle.Verdict verdict = oracle.judge(envelope);
            if (verdict.kind() == EnvelopeOracle.Kind.MALFORMED) {
                if (single || verdict.id() == null) {
                    return Expectation.refused(400);
                }
                // in a batch, an envelope whose id can be read fails alone, whatever the other places of its id get
                verdicts.add(new EnvelopeOracle.Verdict(EnvelopeOracle.Kind.FAILED, verdict.id(), null));
                continue;
            }
            EnvelopeOracle.Kind first = firstInBatch.putIfAbsent(verdict.id(), verdict.kind());
            if (first == EnvelopeOracle.Kind.PROCESSED) {
                verdict = new EnvelopeOracle.Verdict(EnvelopeOracle.Kind.DUPLICATE, verdict.id(), null);
            } else if (first == EnvelopeOracle.Kind.FAILED) {
                verdict = new EnvelopeOracle.Verdict(EnvelopeOracle.Kind.REPEATED_FAILURE, verdict.id(), null);
            }
            verdicts.add(verdict);
        }
        long[] delta = new long[6];
        Effects effects = new Effects();
        for (EnvelopeOracle.Verdict verdict : verdicts) {
            if (verdict.kind() == EnvelopeOracle.Kind.PROCESSED) {
                effects.add(delta, verdict.effect());
            }
        }
        if (single && verdicts.get(0).kind() == EnvelopeOracle.Kind.FAILED) {
            return new Expectation(422, false, verdicts, new long[6]);
        }
        return new Expectation(200, batch, verdicts, delta);
    }

    /**
     * The effect of the processed messages of one request on the tables, message after message,
     * starting from the tables as they stand (as LoyaltyStore's rules say: one customer row per
     * user, one view per order, an event older than the order's last one is a violation).
     */
    private static final class Effects {
        private final java.util.Set<UUID> users = new java.util.HashSet<>();
        private final java.util.Map<UUID, Long> lastSeqs = new java.util.HashMap<>();

        void add(long[] delta, EnvelopeOracle.Effect effect) {
            delta[0]++;
            if (effect == null) {
                return;
            }
            if ("OrderCreated".equals(effect.eventType())) {
                if (!users.contains(effect.userId())
                        && !exists("SELECT count(*) FROM customer_totals WHERE user_id = :id", effect.userId())) {
                    delta[1]++;
                }
                users.add(effect.userId());
                delta[2]++;
                delta[3] += effect.amount().movePointRight(2).longValueExact();
            }
            Long seq = effect.sequence() > 0 ? effect.sequence() : null;
            if (!lastSeqs.containsKey(effect.orderId())) {
                java.util.Optional<Long> stored = db.jdbi().withHandle(h -> h.createQuery(
                                "SELECT coalesce(last_seq, -1) FROM consumer_order_status WHERE order_id = :id")
                        .bind("id", effect.orderId()).mapTo(Long.class).findOne());
                if (stored.isEmpty()) {
                    delta[4]++;
                    lastSeqs.put(effect.orderId(), seq);
                    return;
                }
                lastSeqs.put(effect.orderId(), stored.get() < 0 ? null : stored.get());
            }
            Long last = lastSeqs.get(effect.orderId());
            if (seq != null && last != null && seq < last) {
                delta[5]++;
            } else if (seq != null) {
                lastSeqs.put(effect.orderId(), seq);
            }
        }
    }

    private static boolean exists(String sql, UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery(sql).bind("id", id).mapTo(Long.class).one()) > 0;
    }

    /** processed, customers, sum of order counts, sum of totals in cents, order views, violations. */
    private static long[] counts() {
        return db.jdbi().withHandle(h -> h.createQuery("""
                        SELECT (SELECT count(*) FROM processed_messages WHERE consumer = :consumer),
                               (SELECT count(*) FROM customer_totals),
                               (SELECT coalesce(sum(order_count), 0) FROM customer_totals),
                               (SELECT coalesce(sum(total_amount * 100), 0)::bigint FROM customer_totals),
                               (SELECT count(*) FROM consumer_order_status),
                               (SELECT count(*) FROM consumer_ordering_violations)""")
                .bind("consumer", CONSUMER)
                .map((rs, ctx) -> new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5),
                    rs.getLong(6)})
                .one());
    }

    private static RawHttp.Response deliver(ObjectNode envelope) {
        return HostileRequest.of("POST", "/messages", envelope.toString().getBytes(StandardCharsets.UTF_8),
                "Content-Type", "application/json").send(http());
    }

    // ---- the generator ----

    private static HostileRequest generate(HostileJson g) {
        Random random = g.random();
        int kind = random.nextInt(100);
        String type = random.nextInt(100) < 90 ? "application/json" : g.pick(CONTENT_TYPES);
        if (kind < 70) {
            ObjectNode valid = validEnvelope(random);
            byte[] body = random.nextInt(10) == 0 ? g.serialize(valid) : g.mutate(valid);
            return HostileRequest.of("POST", "/messages", body, "Content-Type", type);
        }
        if (kind < 88) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.writeBytes("{\"messages\": [".getBytes(StandardCharsets.UTF_8));
            int size = 1 + random.nextInt(4);
            ObjectNode previous = null;
            for (int i = 0; i < size; i++) {
                ObjectNode valid = previous != null && random.nextInt(6) == 0 ? previous : validEnvelope(random);
                body.writeBytes(i == 0 ? new byte[0] : new byte[] {','});
                body.writeBytes(random.nextInt(3) == 0 ? g.mutate(valid) : g.serialize(valid));
                previous = valid;
            }
            body.writeBytes("]}".getBytes(StandardCharsets.UTF_8));
            byte[] bytes = random.nextInt(4) == 0 ? g.mutateBytes(body.toByteArray()) : body.toByteArray();
            return HostileRequest.of("POST", "/messages/batch", bytes, "Content-Type", type);
        }
        String path = g.pick(PATHS);
        String method = path.startsWith("/messages") && !path.equals("/messages") && !path.equals("/messages/batch")
                && random.nextBoolean() ? "POST" : g.pick(METHODS);
        return HostileRequest.of(method, path, random.nextBoolean() ? null : g.mutate(validEnvelope(random)),
                "Content-Type", type);
    }

    private static ObjectNode validEnvelope(Random random) {
        UUID order = new UUID(random.nextLong(), random.nextLong());
        String eventType = EVENT_TYPES.get(random.nextInt(EVENT_TYPES.size()));
        ObjectNode payload = Jsons.mapper().createObjectNode().put("order_id", order.toString());
        if ("OrderCreated".equals(eventType)) {
            payload.put("user_id", new UUID(random.nextLong(), random.nextLong()).toString());
            BigDecimal amount = BigDecimal.valueOf(1 + (random.nextLong() & Long.MAX_VALUE) % 9_999_999_999L, random.nextInt(3));
            if (random.nextBoolean()) {
                payload.put("amount", amount);
            } else {
                payload.put("amount", amount.toPlainString());
            }
            payload.put("status", "CREATED");
        }
        ObjectNode envelope = Envelopes.envelope(new UUID(random.nextLong(), random.nextLong()), 1 + random.nextInt(100),
                order, eventType, payload);
        if (random.nextInt(5) == 0) {
            envelope.remove(List.of("sequence", "headers", "attempts"));
        }
        return envelope;
    }

    // ---- the classics ----

    private static String valid() {
        return Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), UUID.randomUUID(), "12.50").toString();
    }

    private static String twice() {
        String one = valid();
        return "{\"messages\": [" + one + "," + valid() + "," + one + "]}";
    }

    private static Arguments envelope(String what, java.util.function.Consumer<ObjectNode> change) {
        ObjectNode envelope = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), UUID.randomUUID(), "12.50");
        change.accept(envelope);
        return body(what, envelope.toString());
    }

    private static Arguments body(String what, String body) {
        return Arguments.of(what, HostileRequest.of("POST", "/messages", body.getBytes(StandardCharsets.UTF_8),
                "Content-Type", "application/json"));
    }

    private static Arguments batch(String what, String body) {
        return Arguments.of(what, HostileRequest.of("POST", "/messages/batch", body.getBytes(StandardCharsets.UTF_8),
                "Content-Type", "application/json"));
    }

    private static RawHttp http() {
        return new RawHttp("127.0.0.1", consumer.app().port());
    }
}
