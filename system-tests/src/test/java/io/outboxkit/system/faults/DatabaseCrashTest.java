package io.outboxkit.system.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.system.RelayProcess;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.ServiceProcess;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault 5b: PostgreSQL crashes under load (SIGQUIT to the postmaster: an immediate shutdown that
 * flushes nothing more, recovered from the WAL at the next start, as after a power cut) and
 * starts again on the same data. What was committed durably survives: the orders (each 201) with
 * their messages, and the consumer's effects. The relay's own commits do not wait for their flush,
 * so the crash may take its latest claims and marks with it; those messages are then delivered
 * again, and the consumer skips them. Afterwards every order that got a 201 has its effect exactly
 * once and in order, with the same processes as before.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DatabaseCrashTest {

    private OwnedPostgres postgres;
    private RunningSystem system;
    private LoadGenerator load;

    @AfterEach
    void stopEverything() throws Exception {
        Faults.closeAll(load, system, postgres);
    }

    @Test
    void a_postgres_crash_under_load_loses_no_201_order_and_applies_none_twice() throws Exception {
        postgres = OwnedPostgres.start("DatabaseCrashTest");
        system = new RunningSystem(postgres, "DatabaseCrashTest").withRelayEnv(Faults.RELAY_ENV)
                .withServiceEnv(Faults.SERVICE_ENV).start(1);
        RelayProcess relay = system.relays().get(0);
        List<ServiceProcess> processes = List.of(system.orders(), system.consumer(), relay.process());
        load = LoadGenerator.start(system.orderUrl(""), LoadGenerator.Options.defaults());
        load.awaitMoreOrders(100, Duration.ofSeconds(30));

        postgres.crash(RunningSystem.STOP_LIMIT);
        postgres.startAgain();

        Faults.awaitAllHealthy(system, relay, Duration.ofSeconds(30));
        load.awaitMoreOrders(100, Duration.ofSeconds(40));
        load.stop();
        load.settle(Faults.SETTLE);

        assertThat(processes).as("the same processes as before the crash").allMatch(ServiceProcess::isAlive);
        Invariants.verify(system, load, Faults.DRAIN);
        assertThat(postgres.process().output()).as("PostgreSQL crashed, and recovered from its WAL")
                .contains("automatic recovery in progress");
    }
}
