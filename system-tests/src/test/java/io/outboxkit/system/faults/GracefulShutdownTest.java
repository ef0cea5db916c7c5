package io.outboxkit.system.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.system.Http;
import io.outboxkit.system.RelayProcess;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.ServiceProcess;
import io.outboxkit.system.TestDatabase;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.ThreadPerTask;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Fault 7: SIGTERM to each process under load, one after the other: a relay mid-batch, a relay
 * whose batch is stuck on a hung consumer, the order service with a request in flight, the
 * consumer with a batch in flight, and the dev-postgres the test owns. Each stops within
 * {@link RunningSystem#STOP_LIMIT}, finishing what it had started: a relay records the outcome of
 * everything it had claimed (no row is left leased by it), the order service answers the request,
 * the consumer answers the batch. Each is started again (PostgreSQL on the same port and data) and
 * in the end every order that got a 201 is delivered.
 *
 * <p>Then two relays with their default settings, as a deploy runs them: one delivering one
 * request per message ({@code DELIVERY=single}) to a consumer that hangs, with more of its batch
 * queued behind MAX_IN_FLIGHT than in flight, and an idle one whose retention is deleting a large
 * backlog of old messages. Neither waits for what it has not started.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class GracefulShutdownTest {

    /** Longer than the fault cases' default, so a request held for {@link #HOLD} still ends well inside it. */
    private static final Map<String, String> RELAY = Faults.relayEnv(Map.of("HTTP_TIMEOUT_MS", "3000", "LEASE_MS", "6000"));
    private static final long LEASE_MS = 6000;
    /** How long the test keeps a request in flight after SIGTERM. */
    private static final Duration HOLD = Duration.ofMillis(700);

    /** What an idle relay needs to stop: its threads end, its admin server and pool close. */
    private static final Duration IDLE_STOP_LIMIT = Duration.ofSeconds(3);

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(TestDatabase::createSchemas, 2);

    private OwnedPostgres postgres;
    private RunningSystem system;
    private LoadGenerator load;

    @AfterEach
    void stopEverything() throws Exception {
        Faults.closeAll(load, system, postgres);
    }

    @Test
    void sigterm_stops_each_process_within_seconds_and_a_relay_leaves_nothing_leased() throws Exception {
        postgres = OwnedPostgres.start("GracefulShutdownTest");
        system = new RunningSystem(postgres, "GracefulShutdownTest").withRelayEnv(RELAY)
                .withServiceEnv(Faults.SERVICE_ENV).start(2);
        load = LoadGenerator.start(system.orderUrl(""), LoadGenerator.Options.defaults());
        RelayProcess first = system.relays().get(0);
        RelayProcess second = system.relays().get(1);
        load.awaitMoreOrders(40, Duration.ofSeconds(30));

        // A relay in the middle of a batch: it finishes the batch, records it, and exits.
        Faults.awaitMidBatch(postgres, first, Duration.ofSeconds(30));
        List<UUID> claimed = Faults.leasedRows(postgres, first.name());
        stopWithin(first.process());
        assertThat(Faults.lockedBy(postgres, first.name())).as("rows still locked by %s after it exited", first).isZero();
        assertThat(statuses(claimed)).as("the batch %s had claimed when it got SIGTERM", first).allMatch("PUBLISHED"::equals);
        assertThat(first.process().output()).contains("[" + first.name() + "] stopped");

        // A relay whose batch hangs on a frozen consumer: the delivery times out, is recorded as failed, and it exits.
        system.consumer().pause();
        OffsetDateTime frozen = Faults.databaseNow(postgres);
        List<UUID> stuck = Faults.awaitClaimSince(postgres, second, LEASE_MS, frozen, Duration.ofSeconds(30));
        stopWithin(second.process());
        assertThat(Faults.lockedBy(postgres, second.name())).as("rows still locked by %s after it exited", second).isZero();
        assertThat(lastErrors(stuck)).as("the batch %s had claimed from the frozen consumer, recorded as failed", second)
                .hasSize(stuck.size()).allMatch(e -> e != null && e.contains("timed out"));
        system.consumer().resume();
        RelayProcess third = system.startRelay();

        // The order service with a request in flight (held on its idempotency key's row lock, which the
        // test holds): the request is answered before the process exits.
        load.awaitMoreOrders(20, Duration.ofSeconds(30));
        UUID user = load.users().get(0);
        BigDecimal amount = new BigDecimal("42.00");
        String key = "graceful-" + UUID.randomUUID();
        CompletableFuture<Http.Response> request;
        ServiceProcess orders = system.orders();
        long stopping;
        try (Handle lock = postgres.jdbi().open()) {
            lock.begin();
            lock.execute("INSERT INTO idempotency_keys (key, request_hash, response_code, response_body) "
                    + "VALUES (?, 'held by the test', 0, '')", key);
            request = CompletableFuture.supplyAsync(() -> Http.send(HttpRequest.newBuilder(URI.create(system.orderUrl("/orders")))
                    .header("Content-Type", "application/json").header("Idempotency-Key", key)
                    .POST(HttpRequest.BodyPublishers.ofString("{\"user_id\": \"" + user + "\", \"amount\": 42.00}"))), ThreadPerTask.INSTANCE);
            Faults.awaitLockWait(postgres, "idempotency_keys", Duration.ofSeconds(10));
            stopping = System.nanoTime();
            orders.requestStop();
            TimeUnit.MILLISECONDS.sleep(HOLD.toMillis()); // keeps the request in flight while the process stops: the fault
            lock.rollback();
        }
        Http.Response answer = request.get(10, TimeUnit.SECONDS);
        assertThat(answer.status()).as("the answer to the request in flight at SIGTERM: %s", answer.text()).isEqualTo(201);
        load.adopt(user, amount, answer.json());
        exitedWithin(orders, stopping);
        system.restartOrders();

        // The consumer with a batch in flight (held on a customer's row lock, which the test holds):
        // it answers the relay before the process exits, so the relay records the batch as delivered.
        load.awaitMoreOrders(20, Duration.ofSeconds(30));
        ServiceProcess consumer = system.consumer();
        List<UUID> batch;
        try (Handle lock = postgres.jdbi().open()) {
            lock.begin();
            lock.createQuery("SELECT user_id FROM customer_totals WHERE user_id = :user FOR UPDATE")
                    .bind("user", load.users().get(1)).mapTo(UUID.class).list();
            Faults.awaitLockWait(postgres, "customer_totals", Duration.ofSeconds(30));
            batch = Faults.leasedRows(postgres, third.name()); // one relay, one request in flight: this batch
            stopping = System.nanoTime();
            consumer.requestStop();
            TimeUnit.MILLISECONDS.sleep(HOLD.toMillis()); // keeps the batch in flight while the process stops: the fault
            lock.rollback();
        }
        exitedWithin(consumer, stopping);
        assertThat(batch).as("the batch in flight at the consumer").isNotEmpty();
        await("the relay records the batch the stopping consumer answered").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(50))
                .untilAsserted(() -> assertThat(statuses(batch)).allMatch("PUBLISHED"::equals));
        system.restartConsumer();

        // PostgreSQL itself (dev-postgres stops it with a fast shutdown), then on the same port and data again.
        load.awaitMoreOrders(20, Duration.ofSeconds(30));
        Duration took = postgres.stop(RunningSystem.STOP_LIMIT);
        assertThat(postgres.process().output()).contains("dev-postgres: stopped");
        postgres.startAgain();

        load.awaitMoreOrders(30, Duration.ofSeconds(40));
        load.stop();
        load.settle(Faults.SETTLE);
        Invariants.verify(system, load, Faults.DRAIN);
        assertThat(Http.get(system.orderUrl("/health")).status()).isEqualTo(200);
        System.out.println("[GracefulShutdownTest] dev-postgres stopped in " + took.toMillis() + " ms");
    }

    @Test
    void a_relay_in_single_delivery_stuck_on_a_hung_consumer_sends_no_more_of_its_batch_and_exits_within_the_limit()
            throws Exception {
        TestDatabase database = TestDatabase.of(db);
        database.jdbi().useHandle(h -> h.execute("TRUNCATE outbox"));
        try (HungConsumer hung = new HungConsumer()) {
            String name = "single-sigterm";
            try (ServiceProcess relay = ServiceProcess.start("outbox-relay", name, Map.of(
                    "DB_URL", database.url(), "DB_USER", database.user(), "DB_PASSWORD", database.password(),
                    "PORT", "0", "RELAY_NAME", name, "DELIVERY", "single", "CONSUMER_URL", hung.url()))) {
                relay.awaitOutputLine("[main] INFO outbox-relay - running", Duration.ofSeconds(60));
                // 200 messages: each batch of 100 has 16 requests (MAX_IN_FLIGHT) in flight, the rest queued behind them.
                database.jdbi().useHandle(h -> h.execute("INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, "
                        + "payload) SELECT gen_random_uuid(), 'Order', 'o-' || g, 'OrderCreated', '{}' "
                        + "FROM generate_series(1, 200) g"));
                await("the relay's requests reach the hung consumer").atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofMillis(50)).until(() -> hung.accepted() >= 16);

                int sent = hung.accepted(); // MAX_IN_FLIGHT: the next are sent only when these time out, after 5 s
                stopWithin(relay);
                assertThat(Faults.leasedBy(database, name)).as("rows still leased by %s after it exited", name).isZero();
                assertThat(hung.accepted()).as("requests sent: none after SIGTERM").isEqualTo(sent);
            }
        }
    }

    @Test
    void an_idle_relay_whose_retention_is_deleting_stops_it_between_batches_and_exits_at_once() throws Exception {
        TestDatabase database = TestDatabase.of(db);
        database.jdbi().useHandle(h -> h.execute("TRUNCATE outbox"));
        database.jdbi().useHandle(h -> h.execute("INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, "
                + "status, published_at, created_at) SELECT gen_random_uuid(), 'Order', 'old-' || g, 'OrderCreated', '{}', "
                + "'PUBLISHED', now() - interval '8 days', now() - interval '8 days' FROM generate_series(1, 800000) g"));
        String name = "retention-sigterm";
        try (ServiceProcess relay = ServiceProcess.start("outbox-relay", name, Map.of(
                "DB_URL", database.url(), "DB_USER", database.user(), "DB_PASSWORD", database.password(),
                "PORT", "0", "RELAY_NAME", name, "CONSUMER_URL", "http://127.0.0.1:1/messages"))) { // nothing to deliver
            relay.awaitOutputLine("[main] INFO outbox-relay - running", Duration.ofSeconds(60));
            await("the relay's retention is deleting").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                    .until(() -> database.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM pg_stat_activity "
                            + "WHERE datname = current_database() AND state = 'active' AND query ILIKE 'DELETE FROM%outbox%'")
                            .mapTo(Long.class).one()) > 0);

            long sent = System.nanoTime();
            relay.requestStop();
            boolean exited = relay.awaitExit(IDLE_STOP_LIMIT);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);
            assertThat(exited).as("the idle relay exited within %s of SIGTERM (%d ms); its output:\n%s", IDLE_STOP_LIMIT,
                    millis, relay.output()).isTrue();
            assertThat(relay.output()).as("the retention run stopped by the stop, not failed on a closed pool")
                    .contains("retention stopped").doesNotContain("retention failed").doesNotContain("marked as broken");
            System.out.println("[GracefulShutdownTest] the idle relay stopped in " + millis + " ms");
        }
    }

    /** A consumer that accepts connections and never answers: a hung process, its port still open. */
    private static final class HungConsumer implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0, 1000, InetAddress.getLoopbackAddress());
        private final List<Socket> held = new CopyOnWriteArrayList<>();
        private final AtomicInteger accepted = new AtomicInteger();

        HungConsumer() throws IOException {
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        held.add(server.accept()); // never read, never answered
                        accepted.incrementAndGet();
                    }
                } catch (IOException closed) {
                    // the test is over
                }
            }, "hung-consumer");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getLocalPort() + "/messages";
        }

        int accepted() {
            return accepted.get();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket socket : held) {
                socket.close();
            }
        }
    }

    private List<String> statuses(List<UUID> ids) {
        return postgres.jdbi().withHandle(h -> h.createQuery("SELECT status FROM outbox WHERE id = ANY(CAST(:ids AS uuid[]))")
                .bindArray("ids", String.class, ids.stream().map(UUID::toString).toList()).mapTo(String.class).list());
    }

    private List<String> lastErrors(List<UUID> ids) {
        return postgres.jdbi().withHandle(h -> h.createQuery(
                        "SELECT last_error FROM outbox WHERE status = 'PENDING' AND id = ANY(CAST(:ids AS uuid[]))")
                .bindArray("ids", String.class, ids.stream().map(UUID::toString).toList()).mapTo(String.class).list());
    }

    /** SIGTERM, and the process must be gone within {@link RunningSystem#STOP_LIMIT}. */
    private static void stopWithin(ServiceProcess process) throws InterruptedException {
        long start = System.nanoTime();
        process.requestStop();
        exitedWithin(process, start);
    }

    /** The process, sent SIGTERM at {@code since} (nanoTime), must be gone within {@link RunningSystem#STOP_LIMIT} of it. */
    private static void exitedWithin(ServiceProcess process, long since) throws InterruptedException {
        boolean exited = process.awaitExit(RunningSystem.STOP_LIMIT.minusNanos(System.nanoTime() - since));
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since);
        assertThat(exited).as("%s exited within %s of SIGTERM; its output:\n%s", process.name(), RunningSystem.STOP_LIMIT,
                process.output()).isTrue();
        assertThat(process.output()).as("%s logged a clean stop", process.name()).contains("stopped");
        System.out.println("[GracefulShutdownTest] " + process.name() + " stopped in " + millis + " ms");
    }
}
