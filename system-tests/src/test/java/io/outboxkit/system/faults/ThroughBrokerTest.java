package io.outboxkit.system.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.system.Http;
import io.outboxkit.system.RelayProcess;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.TestDatabase;
import io.outboxkit.system.brokers.SystemBroker;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * The whole system through one broker: order-service → outbox → relay ({@code SINK}) → broker →
 * consumer ({@code SOURCE}), as separate processes, under a stream of orders, payments and
 * cancellations; each case ends with {@link Invariants}: nothing lost, each effect once, order per
 * aggregate kept. One subclass per broker says which broker and how the test owns it; every case
 * starts on an emptied database with names of its own on the broker.
 *
 * <p>The crash points are exact, with no hook in the services: a {@link CommitGate} holds the
 * service's commit at the database while the test kills the service.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
abstract class ThroughBrokerTest {

    /**
     * The fault cases' relay settings, with a lease longer than any broker's publish timeout, so
     * that a slow confirmation never outlives the claim.
     */
    static final Map<String, String> RELAY_ENV = Faults.relayEnv(Map.of("LEASE_MS", "12000"));
    /**
     * How long the outbox may take to drain after the last fault: a lease, backoffs, and a Kafka
     * consumer group that waits out the killed member's session before it hands its partitions on.
     */
    static final Duration DRAIN = Duration.ofSeconds(120);
    private static final Duration AT_LEAST_DOWN = Duration.ofSeconds(3);

    private SystemBroker broker;
    private RunningSystem system;
    private LoadGenerator load;
    private String label;

    /** The class's database. */
    abstract PostgresExtension db();

    /** Names of the test's own on the shared broker (or a private one where none is shared). */
    abstract SystemBroker sharedBroker() throws Exception;

    /** A broker the test owns, so that it can take it down and bring it back. */
    abstract SystemBroker ownBroker() throws Exception;

    @AfterEach
    void stopEverything() throws Exception {
        Faults.closeAll(load, system, broker);
    }

    @Test
    void a_stream_of_orders_payments_and_cancellations_arrives_exactly_once_in_order(TestInfo test) throws Exception {
        start(sharedBroker(), test);
        load.awaitMoreOrders(120, Duration.ofSeconds(60));
        finish();
        checkForeignReader(system.database(), broker);
    }

    /**
     * After the plain stream has been checked: what a client of the broker's own (not our classes)
     * reads of it, where the subclass checks that; nothing by default.
     */
    void checkForeignReader(TestDatabase db, SystemBroker broker) throws Exception {
    }

    @Test
    void the_broker_unreachable_mid_stream_and_back_loses_nothing(TestInfo test) throws Exception {
        start(ownBroker(), test);
        RelayProcess relay = system.relays().get(0);
        load.awaitMoreOrders(30, Duration.ofSeconds(30));

        long failedBefore = relay.metrics().path("failed").asLong();
        broker.goDown();
        long downSince = System.nanoTime();
        await("deliveries fail while " + broker + " is down").atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> relay.metrics().path("failed").asLong() > failedBefore
                        && System.nanoTime() - downSince >= AT_LEAST_DOWN.toNanos());
        long failedWhileDown = relay.metrics().path("failed").asLong() - failedBefore;
        broker.comeBack();

        load.awaitMoreOrders(30, Duration.ofSeconds(30));
        finish();
        assertThat(failedWhileDown).as("deliveries that failed while the broker was down").isPositive();
        assertThat(relay.process().isAlive()).as("the relay rode out the outage without a restart").isTrue();
        assertThat(system.consumer().isAlive()).as("the consumer rode out the outage without a restart").isTrue();
    }

    @Test
    void a_relay_killed_after_the_broker_confirmed_and_before_the_outbox_recorded_it_changes_nothing(TestInfo test)
            throws Exception {
        start(sharedBroker(), test);
        TestDatabase database = system.database();
        RelayProcess relay = system.relays().get(0);
        load.awaitMoreOrders(30, Duration.ofSeconds(30));

        List<UUID> confirmed;
        try (CommitGate gate = CommitGate.onPublished(database)) {
            gate.awaitHeld(Duration.ofSeconds(30));
            // The relay holds the rows it is recording; once the consumer has applied some of them,
            // the broker has surely confirmed them.
            await("the consumer applied messages whose delivery the relay has not recorded").atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(20))
                    .until(() -> Faults.processed(database, Faults.leasedRows(database, relay.name())) > 0);
            relay.process().kill();
            gate.abortHeld();
            confirmed = processedButPending(database);
        }
        assertThat(confirmed).as("messages the broker confirmed and the outbox never recorded").isNotEmpty();
        long duplicatesBefore = duplicates();
        system.restartRelay(relay);

        load.awaitMoreOrders(30, Duration.ofSeconds(30));
        finish();
        long skipped = duplicates() - duplicatesBefore;
        if (broker.dropsRepublished()) {
            assertThat(skipped).as("copies the consumer saw: the broker dropped the re-publishes by their message id")
                    .isZero();
        } else {
            assertThat(skipped).as("copies the consumer skipped: the %d messages delivered again", confirmed.size())
                    .isGreaterThanOrEqualTo(confirmed.size());
        }
    }

    @Test
    void a_consumer_killed_after_its_commit_and_before_its_ack_applies_each_event_once(TestInfo test) throws Exception {
        start(sharedBroker(), test);
        TestDatabase database = system.database();
        load.awaitMoreOrders(30, Duration.ofSeconds(30));

        long committedUnacked;
        try (CommitGate gate = CommitGate.onProcessed(database)) {
            gate.awaitHeld(Duration.ofSeconds(30));
            system.consumer().kill();
            long before = processedCount(database);
            gate.open();
            committedUnacked = processedCount(database) - before;
        }
        assertThat(committedUnacked).as("messages whose batch committed after the consumer died, never acknowledged")
                .isPositive();
        system.restartConsumer();

        load.awaitMoreOrders(30, Duration.ofSeconds(30));
        finish();
        assertThat(duplicates()).as("redeliveries the restarted consumer skipped (%d committed, never acknowledged)",
                committedUnacked).isGreaterThanOrEqualTo(committedUnacked);
    }

    // --- the system ---------------------------------------------------------------------------

    private void start(SystemBroker through, TestInfo test) {
        broker = through;
        db().truncateAll();
        label = getClass().getSimpleName() + "-" + test.getTestMethod().orElseThrow().getName();
        system = new RunningSystem(TestDatabase.of(db()), label)
                .withRelayEnv(RELAY_ENV).withRelayEnv(broker.relayEnv())
                .withServiceEnv(Faults.SERVICE_ENV).withConsumerEnv(broker.consumerEnv())
                .start(1);
        load = LoadGenerator.start(system.orderUrl(""), LoadGenerator.Options.defaults());
    }

    /** Stops the load, lets every request get its answer, and checks every invariant. */
    private void finish() throws InterruptedException {
        load.stop();
        load.settle(Faults.SETTLE);
        Invariants.Report report = Invariants.verify(system, load, DRAIN);
        System.out.println("[" + label + "] through " + broker + ": " + report);
    }

    private long duplicates() {
        return Http.get(system.consumerUrl("/stats")).json().path("duplicates").asLong();
    }

    private static long processedCount(TestDatabase db) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM processed_messages").mapTo(Long.class).one());
    }

    /** Messages the consumer applied whose outbox row is still PENDING: delivered, not recorded. */
    private static List<UUID> processedButPending(TestDatabase db) {
        return db.jdbi().withHandle(h -> h.createQuery("""
                        SELECT o.id FROM outbox o JOIN processed_messages p ON p.message_id = o.id
                        WHERE o.status = 'PENDING'""")
                .mapTo(UUID.class).list());
    }
}
