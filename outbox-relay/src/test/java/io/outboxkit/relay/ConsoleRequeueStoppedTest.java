package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.Database;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.app.broker.Broker;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.relay.console.ConsoleSettings;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.SlowUpdates;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A console requeue that the database stops after some of its batches committed says how many it
 * requeued and offers to requeue the rest, which then takes none of those again.
 */
class ConsoleRequeueStoppedTest {

    static final int MESSAGES = OutboxAdmin.REQUEUE_BATCH + 1;
    static final Pattern HIDDEN_FIELD = Pattern.compile("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">");
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 8);

    static Database database;
    static AdminServer console;

    @BeforeAll
    static void start() {
        database = TestDatabases.open(db, 6, ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
        // Never started: nothing claims what the console requeues, so the outbox shows the requeue alone.
        OutboxPoller poller = OutboxPoller.builder(database.jdbi(), message -> { }).name("requeue-stopped").build();
        console = AdminServer.start(database, OutboxAdmin.create(database.jdbi()),
                OutboxMonitor.create(database.jdbi(), OutboxNames.DEFAULT), poller, message -> { }, Broker.HTTP,
                "127.0.0.1", 0, Observability.off(), ConsoleSettings.noToken());
    }

    @AfterAll
    static void stop() {
        console.close();
        database.close();
    }

    @AfterEach
    void clean() {
        SlowUpdates.remove(db.jdbi(), "outbox");
        db.jdbi().useHandle(h -> h.execute("DELETE FROM outbox"));
    }

    @Test
    void a_requeue_of_dead_messages_stopped_partway_says_how_many_it_requeued_and_its_button_requeues_the_rest()
            throws Exception {
        write("DEAD");
        Map<String, String> form = hiddenFields(get("/requeue/dead").body());

        HttpResponse<String> stopped = stoppedPartway(() -> postAsync("/requeue/dead", form, "text/html"));

        assertThat(stopped.statusCode()).isEqualTo(503);
        assertThat(stopped.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
        assertThat(stopped.body()).contains("Requeued " + OutboxAdmin.REQUEUE_BATCH + " messages, then the database stopped")
                .contains("Requeue the rest").doesNotContain("Exception");
        assertThat(count("PENDING")).isEqualTo(OutboxAdmin.REQUEUE_BATCH);
        SlowUpdates.remove(db.jdbi(), "outbox");

        HttpResponse<String> rest = post("/requeue/dead", hiddenFields(stopped.body()), "text/html");

        assertThat(rest.statusCode()).isEqualTo(303);
        assertThat(rest.headers().firstValue("Location")).hasValue("/?requeued=1");
        assertThat(count("PENDING")).isEqualTo(MESSAGES);
    }

    @Test
    void a_requeue_since_stopped_partway_tells_a_json_client_where_to_resume_and_resuming_requeues_none_twice()
            throws Exception {
        write("PUBLISHED");
        // As a script would post it, with a span that resolves to a later time at each post.
        Map<String, String> form = new LinkedHashMap<>(hiddenFields(get("/requeue/since?since=1d").body()));
        form.put("since", "1d");

        HttpResponse<String> stopped = stoppedPartway(() -> postAsync("/requeue/since", form, "application/json"));

        assertThat(stopped.statusCode()).isEqualTo(503);
        String error = Jsons.mapper().readTree(stopped.body()).get("error").asText();
        long lastRequeued = db.jdbi().withHandle(h -> h.createQuery("SELECT max(seq) FROM outbox WHERE status = 'PENDING'")
                .mapTo(Long.class).one());
        Matcher told = Pattern.compile("Post it again with since=(\\S+) and after=(\\d+) to requeue the rest\\.$").matcher(error);
        assertThat(error).startsWith("Requeued " + OutboxAdmin.REQUEUE_BATCH + " messages, then the database stopped");
        assertThat(told.find()).as(error).isTrue();
        assertThat(Instant.parse(told.group(1))).as("the instant 1d resolved to")
                .isBefore(Instant.now().minusSeconds(86_000));
        assertThat(told.group(2)).isEqualTo(Long.toString(lastRequeued));
        SlowUpdates.remove(db.jdbi(), "outbox");
        Map<String, String> resume = new LinkedHashMap<>(form);
        resume.put("since", told.group(1));
        resume.put("after", told.group(2));

        HttpResponse<String> rest = post("/requeue/since", resume, "text/html");

        assertThat(rest.headers().firstValue("Location")).hasValue("/?requeued=1");
        assertThat(count("PENDING")).isEqualTo(MESSAGES);
        long requeueTimes = db.jdbi().withHandle(h -> h.createQuery("SELECT count(DISTINCT headers->>'"
                + OutboxAdmin.REQUEUED_AT_HEADER + "') FROM outbox").mapTo(Long.class).one());
        assertThat(requeueTimes).as("each message requeued once: by the stopped requeue's committed batch, or by the rest").isEqualTo(2);
    }

    @Test
    void a_bad_resume_position_is_refused_and_requeues_nothing() throws Exception {
        write("DEAD");
        Map<String, String> form = new LinkedHashMap<>(hiddenFields(get("/requeue/since?since=1d").body()));
        form.put("after", "-3");

        HttpResponse<String> refused = post("/requeue/since", form, "application/json");

        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.body()).contains("after must be a write position");
        assertThat(count("PENDING")).isZero();
    }

    /**
     * Runs {@code request} while the requeue's second batch is slowed on the server, ends that
     * batch's connection as a lost database would, and returns the answer.
     */
    private static HttpResponse<String> stoppedPartway(Request request) throws Exception {
        SlowUpdates.of(db.jdbi(), "outbox", 2, Duration.ofMinutes(2));
        CompletableFuture<HttpResponse<String>> answer = request.send();
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).alias("the requeue's second batch is running")
                .until(() -> answer.isDone() || SlowUpdates.sleeping(db.jdbi()) > 0);
        assertThat(answer).as("the requeue is still running").isNotDone();
        db.jdbi().useHandle(h -> h.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                + "current_database() AND pid <> pg_backend_pid() AND wait_event = 'PgSleep'"));
        return answer.get(20, java.util.concurrent.TimeUnit.SECONDS);
    }

    @FunctionalInterface
    private interface Request {
        CompletableFuture<HttpResponse<String>> send() throws Exception;
    }

    private static void write(String status) {
        List<NewMessage> messages = new ArrayList<>();
        for (int i = 0; i < MESSAGES; i++) {
            messages.add(TestOutbox.message(UUID.randomUUID().toString(), "OrderCreated"));
        }
        new TestOutbox(db).writeAll(messages);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = ?, published_at = now(), attempts = 1", status));
    }

    private static long count(String status) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM outbox WHERE status = ?").bind(0, status)
                .mapTo(Long.class).one());
    }

    /** The hidden fields of a page's (last) one-button form: its anti-forgery token and what it posts. */
    private static Map<String, String> hiddenFields(String page) {
        Map<String, String> fields = new LinkedHashMap<>();
        Matcher field = HIDDEN_FIELD.matcher(page);
        while (field.find()) {
            fields.put(field.group(1), field.group(2));
        }
        assertThat(fields).as("a form on the page").containsKey("form_token");
        return fields;
    }

    private static String origin() {
        return "http://127.0.0.1:" + console.port();
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(origin() + path)).header("Accept", "text/html").GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static CompletableFuture<HttpResponse<String>> postAsync(String path, Map<String, String> fields, String accept) {
        String form = fields.entrySet().stream().map(f -> f.getKey() + "=" + URLEncoder.encode(f.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        return http.sendAsync(HttpRequest.newBuilder(URI.create(origin() + path)).header("Accept", accept)
                .header("Origin", origin()).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(String path, Map<String, String> fields, String accept) throws Exception {
        return postAsync(path, fields, accept).get(30, java.util.concurrent.TimeUnit.SECONDS);
    }
}
