package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.ProbeSettings;
import io.outboxkit.testing.PostgresExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A liveness probe must be answered within a Kubernetes probe's default timeoutSeconds=1 while the
 * service is overloaded: it fails only when a restart is the cure, and restarting a busy replica
 * moves its load onto the others. Here more requests are outstanding than the HTTP server has
 * threads (Jetty's default 250), each waiting up to 2 s for a pooled connection. The probes go to
 * HEALTH_PORT, served by threads of their own: on the service's port a probe queues behind those
 * requests for seconds.
 */
class LivenessUnderLoadTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OrderServiceMain.SCHEMA::apply);

    private static final int OUTSTANDING = 600;

    @Test
    void live_answers_within_a_second_while_more_requests_than_server_threads_wait_for_the_pool() throws Exception {
        try (RunningOrderService service = RunningOrderService.start(db, new ProbeSettings(0, Duration.ZERO))) {
            String id = RunningOrderService.json(service.createOrder(UUID.randomUUID().toString(), "1")).get("id").asText();
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            HttpRequest pay = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.port() + "/orders/" + id + "/pay"))
                    .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(60)).build();
            Semaphore slots = new Semaphore(OUTSTANDING);
            AtomicBoolean loading = new AtomicBoolean(true);
            AtomicLong answered = new AtomicLong();
            try (HeldOrderLock lock = HeldOrderLock.hold(db, id)) {
                // Keeps OUTSTANDING requests in flight: the load a burst of retries or a traffic spike brings.
                Thread load = new Thread(() -> {
                    while (loading.get()) {
                        try {
                            if (!slots.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                                continue;
                            }
                        } catch (InterruptedException e) {
                            return;
                        }
                        client.sendAsync(pay, HttpResponse.BodyHandlers.discarding()).whenComplete((r, e) -> {
                            answered.incrementAndGet();
                            slots.release();
                        });
                    }
                }, "load");
                load.start();
                List<Duration> probes = new ArrayList<>();
                try {
                    // Past the first wave: requests have waited out the pool's 2 s and others took their place.
                    await().atMost(Duration.ofSeconds(30)).until(() -> answered.get() >= OUTSTANDING);
                    for (int i = 0; i < 3; i++) {
                        long started = System.nanoTime();
                        HttpResponse<String> live = service.getOnHealthPort("/health/live");
                        probes.add(Duration.ofNanos(System.nanoTime() - started));
                        assertThat(live.statusCode()).isEqualTo(200);
                    }
                } finally {
                    loading.set(false);
                    load.join();
                    lock.release();
                    await().atMost(Duration.ofSeconds(60)).until(() -> slots.availablePermits() == OUTSTANDING);
                }
                assertThat(probes).as("three /health/live probes in a row under load (a probe's timeoutSeconds=1)")
                        .allSatisfy(took -> assertThat(took).isLessThan(Duration.ofSeconds(1)));
            }
        }
    }
}
