package io.outboxkit.system.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.system.RelayProcess;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.TestDatabase;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Fault 4: the consumer hangs (SIGSTOP: the kernel still accepts its connections, nothing answers).
 * The relay's HTTP timeout fires, the delivery is recorded as failed and retried. After SIGCONT the
 * consumer works through the requests the relay gave up on, so the retries of those messages arrive
 * as duplicates, which idempotency absorbs: each event still has its effect once.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class ConsumerHangTest {

    private static final Map<String, String> RELAY = Faults.relayEnv(Map.of("HTTP_TIMEOUT_MS", "1000", "LEASE_MS", "3000"));

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(TestDatabase::createSchemas, 3);

    private RunningSystem system;
    private LoadGenerator load;

    @AfterEach
    void stopEverything() throws Exception {
        Faults.closeAll(load, system);
    }

    @Test
    void a_hanging_consumer_times_out_and_the_retry_is_absorbed_by_idempotency() throws Exception {
        TestDatabase database = TestDatabase.of(db);
        system = new RunningSystem(database, "ConsumerHangTest").withRelayEnv(RELAY)
                .withServiceEnv(Faults.SERVICE_ENV).start(1);
        load = LoadGenerator.start(system.orderUrl(""), LoadGenerator.Options.defaults());
        RelayProcess relay = system.relays().get(0);
        long consumerPid = system.consumer().pid();
        load.awaitMoreOrders(40, Duration.ofSeconds(30));

        system.consumer().pause();
        await("the relay's timeout fires and a timed-out message is tried again").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> database.jdbi().withHandle(h -> h.createQuery("""
                                SELECT count(*) FROM outbox
                                WHERE status = 'PENDING' AND attempts >= 2 AND last_error LIKE '%timed out after 1000 ms%'""")
                        .mapTo(Long.class).one()) > 0);
        system.consumer().resume();

        load.awaitMoreOrders(40, Duration.ofSeconds(30));
        load.stop();
        load.settle(Faults.SETTLE);
        Invariants.Report report = Invariants.verify(system, load, Faults.DRAIN);

        assertThat(report.duplicates()).as("redeliveries of messages the hung consumer had processed after all, "
                + "answered 'duplicate'").isPositive();
        assertThat(system.consumer().pid()).as("the same consumer process, never restarted").isEqualTo(consumerPid);
        assertThat(relay.process().isAlive()).isTrue();
        System.out.println("[ConsumerHangTest] duplicates absorbed: " + report.duplicates() + ", retries: " + report.retries());
    }
}
