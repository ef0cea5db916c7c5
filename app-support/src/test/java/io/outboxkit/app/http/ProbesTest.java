package io.outboxkit.app.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.javalin.Javalin;
import io.outboxkit.app.ProbeSettings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A stopping service as a probe sees it: unready at once, still serving for the shutdown delay,
 * then draining with the probes answered, then closed.
 */
class ProbesTest {

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final CountDownLatch release = new CountDownLatch(1);
    private Javalin server;
    private int port;
    private volatile boolean slowStarted;

    @AfterEach
    void stop() {
        release.countDown();
        if (server != null) {
            server.stop();
        }
    }

    @Test
    void during_the_shutdown_delay_ready_says_stopping_while_live_and_requests_are_served_as_before() throws Exception {
        Duration delay = Duration.ofSeconds(5);
        Probes probes = start(new ProbeSettings(ProbeSettings.NO_HEALTH_PORT, delay));
        assertThat(get(Health.READY)).isEqualTo("200 {\"status\":\"ok\"}");

        long began = System.nanoTime();
        CompletableFuture<Void> stopping = CompletableFuture.runAsync(() -> probes.stop(server));
        await().atMost(Duration.ofSeconds(5)).until(probes::isStopping);

        assertThat(get(Health.READY)).isEqualTo("503 {\"status\":\"unavailable\",\"error\":\"stopping\"}");
        assertThat(get(Health.PATH)).isEqualTo(get(Health.READY));
        assertThat(get(Health.LIVE)).isEqualTo("200 {\"status\":\"ok\"}");
        // A draining server would refuse it with 503: a 200 says the delay is still running.
        assertThat(get("/quick")).as("served as before within the delay").isEqualTo("200 {\"done\":true}");
        stopping.get(15, TimeUnit.SECONDS);
        assertThat(Duration.ofNanos(System.nanoTime() - began)).as("the stop waited the delay").isGreaterThanOrEqualTo(delay);
    }

    @Test
    void while_a_request_in_progress_finishes_new_requests_get_503_and_the_probes_are_answered() throws Exception {
        Probes probes = start(ProbeSettings.DEFAULT);
        CompletableFuture<HttpResponse<String>> slow = http.sendAsync(request("/slow"), HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(5)).until(() -> slowStarted);

        CompletableFuture<Void> stopping = CompletableFuture.runAsync(() -> probes.stop(server));
        await().atMost(Duration.ofSeconds(5)).until(probes::isStopping);
        await().atMost(Duration.ofSeconds(5)).until(() -> get("/quick").startsWith("503 "));

        assertThat(get(Health.READY)).isEqualTo("503 {\"status\":\"unavailable\",\"error\":\"stopping\"}");
        assertThat(get(Health.LIVE)).isEqualTo("200 {\"status\":\"ok\"}");
        release.countDown();
        assertThat(slow.get(10, TimeUnit.SECONDS).statusCode()).as("the request in progress is answered").isEqualTo(200);
        stopping.get(15, TimeUnit.SECONDS);
    }

    @Test
    void a_second_stop_waits_for_the_first_and_leaves_the_port_open_for_the_whole_delay() throws Exception {
        Duration delay = Duration.ofSeconds(4);
        Probes probes = start(new ProbeSettings(ProbeSettings.NO_HEALTH_PORT, delay));
        long began = System.nanoTime();
        CompletableFuture<Void> first = CompletableFuture.runAsync(() -> probes.stop(server));
        await().atMost(Duration.ofSeconds(5)).until(probes::isStopping);

        CompletableFuture<Void> second = CompletableFuture.runAsync(() -> probes.stop(server));
        // Well inside the first call's delay (a probe's round trip may be slow on a busy machine).
        Duration checked = delay.minusMillis(1_500);
        do {
            assertThat(get(Health.LIVE)).as("the port is open during the delay").isEqualTo("200 {\"status\":\"ok\"}");
            assertThat(second).as("the second call waits").isNotDone();
        } while (System.nanoTime() - began < checked.toNanos());
        second.get(15, TimeUnit.SECONDS);
        assertThat(Duration.ofNanos(System.nanoTime() - began)).as("the second call returned once the first was done")
                .isGreaterThanOrEqualTo(delay);
        first.get(15, TimeUnit.SECONDS);
    }

    @Test
    void a_second_stop_waits_for_a_slow_before_drain_without_a_time_limit_of_its_own() throws Exception {
        Probes probes = start(new ProbeSettings(ProbeSettings.NO_HEALTH_PORT, Duration.ZERO));
        CountDownLatch drainMayGoOn = new CountDownLatch(1);
        CountDownLatch beforeDrainStarted = new CountDownLatch(1);
        CompletableFuture<Void> first = CompletableFuture.runAsync(() -> probes.stop(server, () -> {
            beforeDrainStarted.countDown();
            try {
                drainMayGoOn.await(); // a broker source's close, as slow as it likes
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        assertThat(beforeDrainStarted.await(5, TimeUnit.SECONDS)).isTrue();

        Thread second = new Thread(() -> probes.stop(server), "second stop");
        second.start();
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10)).until(() ->
                second.getState() == Thread.State.WAITING || second.getState() == Thread.State.TIMED_WAITING);
        // A timed wait would give up while beforeDrain still runs, and its caller close the database under it.
        assertThat(second.getState()).as("the second call waits for the first, with no deadline").isEqualTo(Thread.State.WAITING);

        drainMayGoOn.countDown();
        second.join(15_000);
        assertThat(second.isAlive()).as("the second call returned once the first was done").isFalse();
        first.get(15, TimeUnit.SECONDS);
    }

    private Probes start(ProbeSettings settings) {
        Probes probes = Probes.create(settings);
        server = Javalin.create(config -> {
            JsonApi.configure(config, JsonApi.DEFAULT_MAX_BODY_BYTES);
            probes.serve(config, Health.live(), Health.live());
            config.routes.get("/quick", ctx -> JsonApi.respond(ctx, 200, Map.of("done", true)));
            config.routes.get("/slow", ctx -> {
                slowStarted = true;
                release.await(30, TimeUnit.SECONDS);
                JsonApi.respond(ctx, 200, Map.of("done", true));
            });
        }).start("127.0.0.1", 0);
        port = server.port(); // Javalin forgets it once stopping
        return probes;
    }

    private HttpRequest request(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10)).build();
    }

    /** The answer's status and body at {@code path}, as one string. */
    private String get(String path) throws Exception {
        HttpResponse<String> response = http.send(request(path), HttpResponse.BodyHandlers.ofString());
        return response.statusCode() + " " + response.body();
    }
}
