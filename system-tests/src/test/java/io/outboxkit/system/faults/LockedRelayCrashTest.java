package io.outboxkit.system.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.system.RelayProcess;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.TestDatabase;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Fault 1 under {@code CLAIM_MODE=lock}: the only relay is killed with SIGKILL while it holds row
 * locks on a batch, four times, and restarted each time, while orders keep coming. Its claim dies
 * with its connection, so the restarted relay delivers the rows it held long before the lease (two
 * minutes here) could have ended; nothing is lost, a redelivery changes nothing, order holds.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class LockedRelayCrashTest {

    private static final int KILLS = 4;
    private static final Duration LEASE = Duration.ofMinutes(2);
    /** Well inside the lease: only a released lock lets a stranded row be delivered this soon. */
    private static final Duration FREED_WITHIN = Duration.ofSeconds(45);

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(TestDatabase::createSchemas, 3);

    private RunningSystem system;
    private LoadGenerator load;

    @AfterEach
    void stopEverything() throws Exception {
        Faults.closeAll(load, system);
    }

    @Test
    void a_relay_killed_while_holding_locks_frees_its_batch_at_once_and_loses_nothing() throws Exception {
        TestDatabase database = TestDatabase.of(db);
        system = new RunningSystem(database, "LockedRelayCrashTest")
                .withRelayEnv(Faults.relayEnv(Map.of("CLAIM_MODE", "lock", "LEASE_MS", String.valueOf(LEASE.toMillis()))))
                .withServiceEnv(Faults.SERVICE_ENV).start(1);
        load = LoadGenerator.start(system.orderUrl(""), LoadGenerator.Options.defaults());
        RelayProcess relay = system.relays().get(0);

        List<Integer> strandedPerKill = new ArrayList<>();
        for (int kill = 0; kill < KILLS; kill++) {
            load.awaitMoreOrders(30, Duration.ofSeconds(30));
            Faults.awaitLockedBatch(database, Duration.ofSeconds(30));
            List<UUID> stranded = Faults.rowsLockedElsewhere(database);
            relay.process().kill();
            strandedPerKill.add(stranded.size());
            relay = system.restartRelay(relay);
            await("the " + stranded.size() + " rows the killed relay held are delivered, well before its lease ends")
                    .atMost(FREED_WITHIN).pollInterval(Duration.ofMillis(100))
                    .until(() -> Faults.processed(database, stranded) == stranded.size());
        }
        load.awaitMoreOrders(30, Duration.ofSeconds(30));
        load.stop();
        load.settle(Faults.SETTLE);

        assertThat(strandedPerKill).as("rows locked by each killed relay: at least one kill was mid-batch")
                .anyMatch(n -> n > 0);
        Invariants.verify(system, load, Faults.DRAIN);
        System.out.println("[LockedRelayCrashTest] rows stranded by each kill: " + strandedPerKill);
    }
}
