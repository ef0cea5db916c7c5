package io.outboxkit.system.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.system.RelayProcess;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.ServiceProcess;
import io.outboxkit.system.TestDatabase;
import io.outboxkit.system.brokers.KafkaBroker;
import io.outboxkit.system.brokers.NatsBroker;
import io.outboxkit.system.brokers.RabbitMqBroker;
import io.outboxkit.system.brokers.SystemBroker;
import io.outboxkit.system.faults.LoadGenerator.PlacedOrder;
import io.outboxkit.testing.PostgresExtension;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A randomized soak under faults, checking the three promises and order per aggregate: orders for
 * a few hundred users at a steady rate; two relays (one {@code CLAIM_MODE=lease}, one
 * {@code CLAIM_MODE=lock}, two workers each) with retention of published messages after 2 s;
 * at random moments a relay or the consumer is killed with SIGKILL and started again, and
 * operators requeue published messages (one by id through {@link OutboxAdmin}, or the last few
 * seconds through {@code replay-cli requeue --since}). Then the load stops, the outbox drains and:
 * every order's events are applied once (customer totals, status views, one processed record per
 * event), no ordering violation, nothing PENDING or DEAD.
 *
 * <p>Not part of {@code mvn verify}: tagged {@code soak}, as {@link SoakTest} (README, "soak run").
 * Options (system properties):
 * <ul>
 *   <li>{@code -Dsoak.seed=S} replays the chaos schedule (the same options give the same one);
 *   <li>{@code -Dsoak.seconds=N}: the length of the load (default 180);
 *   <li>{@code -Dsoak.retentionMs=M}: the relays' {@code RETENTION_PUBLISHED_MS} (default 2000; 0
 *       deletes each message once delivered);
 *   <li>{@code -Dsoak.sink=http|rabbitmq|nats|kafka} (default http): the relays publish to the
 *       consumer over HTTP, or through that broker, which the consumer reads ({@link SystemBroker});
 *       PUBLISHED then means the broker has it, so the check also waits for the consumer;
 *   <li>{@code -Dsoak.ordered=true|false} (default true): the relays' {@code ORDERED}; the ordering
 *       check holds only when true;
 *   <li>{@code -Dsoak.maxAttempts=N}: the relays' {@code MAX_ATTEMPTS} (default 300, more than any
 *       fault lasts). Set, messages may go DEAD: operators then also requeue the DEAD ones
 *       ({@code replay-cli requeue --dead} at random, {@link OutboxAdmin#requeueDead()} until the
 *       outbox drains), and nothing is left DEAD at the end;
 *   <li>{@code -Dsoak.brokerOutages=true} (a broker sink only): the broker is also cut off at random
 *       ({@link SystemBroker#goDown()}) for 0.5 to 4.5 s plus the time it takes to come back (a
 *       restarted Kafka, about 10 s more); Kafka is then a broker of the test's own.
 * </ul>
 */
@Tag("soak")
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class ChaosSoakTest {

    private static final long SEED = Long.getLong("soak.seed", System.nanoTime());
    private static final long SECONDS = Long.getLong("soak.seconds", 180);
    private static final String SINK = System.getProperty("soak.sink", "http");
    private static final boolean ORDERED = Boolean.parseBoolean(System.getProperty("soak.ordered", "true"));
    private static final String MAX_ATTEMPTS = System.getProperty("soak.maxAttempts");
    private static final boolean OUTAGES = Boolean.parseBoolean(System.getProperty("soak.brokerOutages", "false"));

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(TestDatabase::createSchemas, 3);

    private RunningSystem system;
    private LoadGenerator load;
    private SystemBroker broker;
    private final List<String> timeline = new ArrayList<>();
    private long start;

    @AfterEach
    void stopEverything() throws Exception {
        System.out.println("[chaos] seed " + SEED + " timeline:\n  " + String.join("\n  ", timeline));
        Faults.closeAll(load, system, broker);
    }

    private void log(String event) {
        String line = String.format("%7.2f s %s", (System.nanoTime() - start) / 1e9, event);
        timeline.add(line);
        System.out.println("[chaos] " + line);
    }

    /** The broker {@code soak.sink} names, or null for HTTP. */
    private static SystemBroker broker() throws Exception {
        return switch (SINK) {
            case "http" -> null;
            case "rabbitmq" -> new RabbitMqBroker();
            case "nats" -> new NatsBroker();
            case "kafka" -> OUTAGES ? KafkaBroker.own() : KafkaBroker.shared();
            default -> throw new IllegalArgumentException("soak.sink=" + SINK + ": expected http, rabbitmq, nats or kafka");
        };
    }

    @Test
    void orders_under_random_kills_and_requeues_with_short_retention_are_applied_once_and_in_order() throws Exception {
        start = System.nanoTime();
        Random random = new Random(SEED);
        log("seed " + SEED + " sink " + SINK + " ordered " + ORDERED + " maxAttempts "
                + (MAX_ATTEMPTS == null ? "default" : MAX_ATTEMPTS) + " brokerOutages " + OUTAGES);
        if (OUTAGES && SINK.equals("http")) {
            throw new IllegalArgumentException("soak.brokerOutages needs a broker: set soak.sink=rabbitmq, nats or kafka");
        }
        broker = broker();
        TestDatabase database = TestDatabase.of(db);
        java.time.OffsetDateTime systemStarted = Faults.databaseNow(database);
        Map<String, String> relay = Faults.relayEnv(Map.of(
                "WORKERS", "2",
                "BATCH_SIZE", "20",
                "RETENTION_PUBLISHED_MS", System.getProperty("soak.retentionMs", "2000"),
                "RETENTION_INTERVAL_MS", "1000",
                "ORDERED", String.valueOf(ORDERED)));
        if (MAX_ATTEMPTS != null) {
            relay.put("MAX_ATTEMPTS", MAX_ATTEMPTS);
        }
        Map<String, String> consumer = new HashMap<>(Map.of("RETENTION_INTERVAL_MS", "1000"));
        if (broker != null) {
            // As ThroughBrokerTest: a lease longer than any broker's publish timeout, so that a slow
            // confirmation never outlives the claim.
            relay.put("LEASE_MS", "12000");
            relay.putAll(broker.relayEnv());
            consumer.putAll(broker.consumerEnv());
            log("through " + broker);
        }
        system = new RunningSystem(database, "ChaosSoakTest")
                .withRelayEnv(relay).withRelayEnv(Map.of("CLAIM_MODE", "lease"))
                .withServiceEnv(Faults.SERVICE_ENV)
                .withConsumerEnv(consumer)
                .start(1);
        system.withRelayEnv(Map.of("CLAIM_MODE", "lock")).startRelay();
        // A consumer that fails some messages transiently: 3% of its writes to the status view raise.
        database.jdbi().useHandle(h -> h.execute("""
                CREATE OR REPLACE FUNCTION chaos_fail() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF random() < 0.03 THEN RAISE EXCEPTION 'chaos: transient failure'; END IF;
                  RETURN NEW;
                END $$;
                DROP TRIGGER IF EXISTS chaos_fail ON consumer_order_status;
                CREATE TRIGGER chaos_fail BEFORE INSERT OR UPDATE ON consumer_order_status
                  FOR EACH ROW EXECUTE FUNCTION chaos_fail()"""));
        load = LoadGenerator.start(system.orderUrl(""), LoadGenerator.Options.defaults()
                .withWorkers(4).withUsers(300).withRate(60));
        OutboxAdmin admin = OutboxAdmin.create(database.jdbi());

        // The options' faults come after the default run's 13, so that a default run's seed still gives its schedule.
        int actions = 13 + (MAX_ATTEMPTS != null ? 1 : 0) + (OUTAGES ? 2 : 0);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
        while (System.nanoTime() < end) {
            // the chaos schedule's pause: the fault's timing, not synchronisation
            TimeUnit.MILLISECONDS.sleep(500 + random.nextInt(3_000));
            int action = random.nextInt(actions);
            if (action == 13 && MAX_ATTEMPTS != null) {
                ServiceProcess.Result result = ServiceProcess.run("replay-cli", system.env(Map.of()), "requeue", "--dead");
                log("replay-cli requeue --dead -> exit " + result.exitCode() + ": " + result.output().strip());
            } else if (action >= 13) {
                broker.goDown();
                log("broker down");
                TimeUnit.MILLISECONDS.sleep(500 + random.nextInt(4_000));
                broker.comeBack();
                log("broker back");
            } else if (action == 10 || action == 11) {
                // The service processes' sessions only: the test's own pool connected before the system started.
                List<String> ended = database.jdbi().withHandle(h -> h.createQuery("""
                                WITH victims AS MATERIALIZED (
                                  SELECT pid, state FROM pg_stat_activity
                                  WHERE datname = current_database() AND pid <> pg_backend_pid()
                                    AND backend_type = 'client backend' AND backend_start > :since AND random() < 0.3)
                                SELECT pid || ':' || state FROM victims WHERE pg_terminate_backend(pid)""")
                        .bind("since", systemStarted).mapTo(String.class).list());
                log("pg_terminate_backend " + ended);
            } else if (action == 12) {
                system.orders().kill();
                log("kill -9 order-service");
                TimeUnit.MILLISECONDS.sleep(random.nextInt(1_000));
                system.restartOrders();
                log("restarted order-service");
            } else if (action < 4) {
                List<RelayProcess> relays = system.relays();
                RelayProcess victim = relays.get(random.nextInt(relays.size()));
                victim.process().kill();
                log("kill -9 " + victim + " " + victim.name());
                TimeUnit.MILLISECONDS.sleep(random.nextInt(2_000));
                system.restartRelay(victim);
                log("restarted " + victim.name());
            } else if (action < 6) {
                system.consumer().kill();
                log("kill -9 consumer");
                TimeUnit.MILLISECONDS.sleep(random.nextInt(3_000));
                system.restartConsumer();
                log("restarted consumer");
            } else if (action < 9) {
                List<UUID> ids = database.jdbi().withHandle(h -> h.createQuery(
                                "SELECT id FROM outbox WHERE status = 'PUBLISHED' ORDER BY id LIMIT 200")
                        .mapTo(UUID.class).list());
                if (!ids.isEmpty()) {
                    UUID id = ids.get(random.nextInt(ids.size()));
                    boolean requeued = admin.requeue(id);
                    log("OutboxAdmin.requeue(" + id + ") -> " + requeued);
                }
            } else {
                ServiceProcess.Result result = ServiceProcess.run("replay-cli", system.env(Map.of()),
                        "requeue", "--since", "3s");
                log("replay-cli requeue --since 3s -> exit " + result.exitCode() + ": " + result.output().strip());
            }
        }
        log("load stops: " + load.stats());
        load.stop();
        load.settle(Faults.SETTLE);
        load.requireSettled();
        database.jdbi().useHandle(h -> h.execute("DROP TRIGGER chaos_fail ON consumer_order_status"));
        log("transient failures off");
        verify(system, database.jdbi(), load.orders());
        log("verified");
    }

    private void verify(RunningSystem system, Jdbi jdbi, Map<UUID, PlacedOrder> placed) {
        OutboxAdmin admin = OutboxAdmin.create(jdbi);
        await("every outbox message PUBLISHED (or deleted by retention)").atMost(Duration.ofMinutes(3))
                .pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                    if (MAX_ATTEMPTS != null) {
                        int requeued = admin.requeueDead();
                        if (requeued > 0) {
                            log("OutboxAdmin.requeueDead() -> " + requeued);
                        }
                    }
                    assertThat(jdbi.<List<String>, RuntimeException>withHandle(h -> h.createQuery("""
                                    SELECT id || ' ' || status || ' attempts=' || attempts || ' ' || coalesce(last_error, '')
                                    FROM outbox WHERE status <> 'PUBLISHED' ORDER BY seq LIMIT 10""")
                            .mapTo(String.class).list())).as("messages not PUBLISHED").isEmpty();
                });

        long events = placed.values().stream().mapToLong(o -> o.events().size()).sum();
        // Through a broker, PUBLISHED means the broker has the message; the consumer may still be reading.
        await("the consumer has applied as many events as the answers imply").atMost(Duration.ofMinutes(3))
                .pollInterval(Duration.ofMillis(500)).until(() -> processed(jdbi, system) >= events);
        long processed = processed(jdbi, system);
        assertThat(processed).as("processed records vs events the answers imply").isEqualTo(events);

        Map<UUID, BigDecimal> totals = new HashMap<>();
        Map<UUID, Long> counts = new HashMap<>();
        placed.values().forEach(o -> {
            totals.merge(o.user(), o.amount(), BigDecimal::add);
            counts.merge(o.user(), 1L, Long::sum);
        });
        List<String> wrong = new ArrayList<>();
        jdbi.useHandle(h -> h.createQuery("SELECT user_id, order_count, total_amount FROM customer_totals")
                .map((rs, ctx) -> new Object[] {rs.getObject(1, UUID.class), rs.getLong(2), rs.getBigDecimal(3)})
                .forEach(r -> {
                    UUID user = (UUID) r[0];
                    if (!counts.containsKey(user) || counts.get(user) != (long) r[1]
                            || totals.get(user).compareTo((BigDecimal) r[2]) != 0) {
                        wrong.add(user + ": consumer " + r[1] + " / " + r[2] + ", answers " + counts.get(user) + " / "
                                + totals.get(user));
                    }
                    counts.remove(user);
                }));
        counts.forEach((user, n) -> wrong.add(user + ": consumer has nothing, answers " + n + " orders"));
        assertThat(wrong).as("customer totals that differ from the 201 answers").isEmpty();

        Map<UUID, String> views = new HashMap<>();
        jdbi.useHandle(h -> h.createQuery("SELECT order_id, status FROM consumer_order_status")
                .map((rs, ctx) -> new Object[] {rs.getObject(1, UUID.class), rs.getString(2)})
                .forEach(r -> views.put((UUID) r[0], (String) r[1])));
        List<String> statuses = placed.values().stream().filter(o -> !o.status().equals(views.get(o.id())))
                .map(o -> o.id() + ": answered " + o.status() + ", consumer view " + views.get(o.id())).toList();
        assertThat(statuses).as("status views that differ from the last answer").isEmpty();

        List<String> violations = jdbi.withHandle(h -> h.createQuery(
                        "SELECT message_id || ' order ' || order_id || ' seq ' || seq || ' after ' || previous_seq "
                                + "FROM consumer_ordering_violations").mapTo(String.class).list());
        if (ORDERED) {
            assertThat(violations).as("ordering violations").isEmpty();
        }
        System.out.println("[chaos] orders " + placed.size() + ", events " + events + ", processed " + processed
                + ", ordering violations " + violations.size());
    }

    private static long processed(Jdbi jdbi, RunningSystem system) {
        return jdbi.withHandle(h -> h.createQuery("SELECT count(*) FROM processed_messages WHERE consumer = :c")
                .bind("c", system.consumerName()).mapTo(Long.class).one());
    }
}
