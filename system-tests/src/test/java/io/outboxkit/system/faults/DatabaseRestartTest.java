package io.outboxkit.system.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.system.Http;
import io.outboxkit.system.RelayProcess;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.ServiceProcess;
import io.outboxkit.testing.ThreadPerTask;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault 5: PostgreSQL stops (SIGTERM to the dev-postgres the test owns: a fast shutdown that ends
 * every session) under load, stays down a few seconds, and starts again on the same port and data.
 * While it is gone the order API answers every request within seconds with 503 and a JSON error
 * (no hung request, no 500, no stack trace), and so do the health checks. Afterwards every process
 * works again without being restarted, and every order that got a 201 is delivered.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DatabaseRestartTest {

    /** How long PostgreSQL stays down: the fault itself. */
    private static final Duration OUTAGE = Duration.ofSeconds(4);
    /** Every answer during the outage must come sooner than this. */
    private static final Duration QUICK = Duration.ofSeconds(5);

    private OwnedPostgres postgres;
    private RunningSystem system;
    private LoadGenerator load;

    @AfterEach
    void stopEverything() throws Exception {
        Faults.closeAll(load, system, postgres);
    }

    @Test
    void every_process_rides_out_a_postgres_restart_and_every_201_order_is_delivered() throws Exception {
        postgres = OwnedPostgres.start("DatabaseRestartTest");
        system = new RunningSystem(postgres, "DatabaseRestartTest").withRelayEnv(Faults.RELAY_ENV)
                .withServiceEnv(Faults.SERVICE_ENV).start(1);
        RelayProcess relay = system.relays().get(0);
        List<ServiceProcess> processes = List.of(system.orders(), system.consumer(), relay.process());
        load = LoadGenerator.start(system.orderUrl(""), LoadGenerator.Options.defaults());
        load.awaitMoreOrders(50, Duration.ofSeconds(30));

        Duration stopTook = postgres.stop(RunningSystem.STOP_LIMIT);
        long downSince = System.nanoTime();
        LoadGenerator.Stats beforeOutage = load.stats();
        // Every kind of request at once (each may take up to the pool's 2 s connection timeout).
        List<String> probes = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture.allOf(
                probe(probes, "POST /orders", true, () -> Http.postJson(system.orderUrl("/orders"),
                        "{\"user_id\": \"" + UUID.randomUUID() + "\", \"amount\": 10.00}")),
                probe(probes, "POST /orders/{id}/pay", true,
                        () -> Http.postJson(system.orderUrl("/orders/" + UUID.randomUUID() + "/pay"), "")),
                probe(probes, "GET /orders/{id}", true, () -> Http.get(system.orderUrl("/orders/" + UUID.randomUUID()))),
                probe(probes, "order-service GET /health", false, () -> Http.get(system.orderUrl("/health"))),
                probe(probes, "consumer GET /health", false, () -> Http.get(system.consumerUrl("/health"))),
                probe(probes, "relay GET /health", false, () -> Http.get(relay.adminUrl("/health"))))
                .get(30, TimeUnit.SECONDS);
        long remaining = OUTAGE.toNanos() - (System.nanoTime() - downSince);
        if (remaining > 0) {
            TimeUnit.NANOSECONDS.sleep(remaining); // holds the outage: the fault itself, not synchronisation
        }
        LoadGenerator.Stats duringOutage = load.stats();
        postgres.startAgain();
        long backSince = System.nanoTime();

        Faults.awaitAllHealthy(system, relay, Duration.ofSeconds(30));
        long recoveredMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - backSince);
        load.awaitMoreOrders(50, Duration.ofSeconds(40));
        load.stop();
        load.settle(Faults.SETTLE);

        assertThat(probes).as("requests while PostgreSQL was down").isEmpty();
        assertThat(duringOutage.unavailable() - beforeOutage.unavailable())
                .as("the load's requests answered 503 during the outage").isPositive();
        assertThat(duringOutage.noAnswer() - beforeOutage.noAnswer()).as("the load's requests that got no answer").isZero();
        assertThat(load.stats().maxLatencyMillis()).as("slowest answer to the load (ms)").isLessThan(QUICK.toMillis());
        assertThat(processes).as("the same processes as before the restart").allMatch(ServiceProcess::isAlive);
        assertThat(system.orders()).isSameAs(processes.get(0));
        assertThat(system.consumer()).isSameAs(processes.get(1));
        Invariants.verify(system, load, Faults.DRAIN);
        System.out.println("[DatabaseRestartTest] dev-postgres stopped in " + stopTook.toMillis() + " ms; load during the outage: "
                + (duringOutage.unavailable() - beforeOutage.unavailable()) + " answers 503; all healthy "
                + recoveredMillis + " ms after PostgreSQL was back");
    }

    /**
     * Sends one request while PostgreSQL is down: it must be a quick 503 with a JSON body, no stack
     * trace, and (for the API, not the health checks) an {@code error}.
     */
    private static CompletableFuture<Void> probe(List<String> problems, String what, boolean errorExpected,
                                                 Supplier<Http.Response> request) {
        return CompletableFuture.runAsync(() -> check(problems, what, errorExpected, request), ThreadPerTask.INSTANCE);
    }

    private static void check(List<String> problems, String what, boolean errorExpected, Supplier<Http.Response> request) {
        long start = System.nanoTime();
        Http.Response response;
        try {
            response = request.get();
        } catch (RuntimeException e) {
            problems.add(what + ": no answer: " + e);
            return;
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        if (millis >= QUICK.toMillis()) {
            problems.add(what + ": answered after " + millis + " ms");
        }
        if (response.status() != 503) {
            problems.add(what + ": status " + response.status() + " " + response.text());
        }
        if (response.text().contains("Exception") || response.text().contains("\tat ")) {
            problems.add(what + ": a stack trace in the answer: " + response.text());
        }
        try {
            if (errorExpected && !response.json().path("error").isTextual()) {
                problems.add(what + ": no JSON error: " + response.text());
            }
        } catch (AssertionError e) {
            problems.add(what + ": not JSON: " + response.text());
        }
    }
}
