package io.outboxkit.system.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.system.RelayProcess;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.TestDatabase;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Fault 1: the only relay is killed with SIGKILL in the middle of a batch, four times, and
 * restarted each time (same name, as a supervisor would), while orders, payments and cancellations
 * keep coming. The rows it held stay leased until the lease ends, then the restarted relay delivers
 * them again: nothing is lost, a redelivery changes nothing, and order per aggregate holds.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RelayCrashTest {

    private static final int KILLS = 4;

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(TestDatabase::createSchemas, 3);

    private RunningSystem system;
    private LoadGenerator load;

    @AfterEach
    void stopEverything() throws Exception {
        Faults.closeAll(load, system);
    }

    @Test
    void a_relay_killed_mid_batch_again_and_again_and_restarted_loses_nothing() throws Exception {
        TestDatabase database = TestDatabase.of(db);
        system = new RunningSystem(database, "RelayCrashTest").withRelayEnv(Faults.RELAY_ENV)
                .withServiceEnv(Faults.SERVICE_ENV).start(1);
        load = LoadGenerator.start(system.orderUrl(""), LoadGenerator.Options.defaults());
        RelayProcess relay = system.relays().get(0);

        List<Long> strandedPerKill = new ArrayList<>();
        for (int kill = 0; kill < KILLS; kill++) {
            load.awaitMoreOrders(30, Duration.ofSeconds(30));
            Faults.awaitMidBatch(database, relay, Duration.ofSeconds(30));
            relay.process().kill();
            strandedPerKill.add(Faults.leasedBy(database, relay.name()));
            relay = system.restartRelay(relay);
        }
        load.awaitMoreOrders(30, Duration.ofSeconds(30));
        load.stop();
        load.settle(Faults.SETTLE);

        assertThat(strandedPerKill).as("rows left leased by each killed relay: at least one kill was mid-batch")
                .anyMatch(n -> n > 0);
        Invariants.Report report = Invariants.verify(system, load, Faults.DRAIN);
        assertThat(report.retries()).as("redeliveries of the rows the killed relays held").isPositive();
        System.out.println("[RelayCrashTest] rows stranded by each kill: " + strandedPerKill);
    }
}
