package io.outboxkit.system.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.system.RelayProcess;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.TestDatabase;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Fault 3: the consumer crashes (SIGKILL) and stays down for several retry rounds while orders
 * keep coming; then it is started again. Every delivery in between fails (connection refused) and
 * is retried with backoff; no message goes DEAD, and once the consumer is back everything is
 * delivered, each event applied once.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class ConsumerOutageTest {

    /** A failed delivery is retried after 100, 200, 400, 800 ms: five attempts are four failed retry rounds. */
    private static final int ATTEMPTS_WHILE_DOWN = 5;
    private static final Duration AT_LEAST_DOWN = Duration.ofSeconds(3);

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(TestDatabase::createSchemas, 3);

    private RunningSystem system;
    private LoadGenerator load;

    @AfterEach
    void stopEverything() throws Exception {
        Faults.closeAll(load, system);
    }

    @Test
    void a_consumer_down_for_several_retry_rounds_gets_everything_once_it_is_back() throws Exception {
        TestDatabase database = TestDatabase.of(db);
        system = new RunningSystem(database, "ConsumerOutageTest").withRelayEnv(Faults.RELAY_ENV)
                .withServiceEnv(Faults.SERVICE_ENV).start(1);
        load = LoadGenerator.start(system.orderUrl(""), LoadGenerator.Options.defaults());
        RelayProcess relay = system.relays().get(0);
        load.awaitMoreOrders(40, Duration.ofSeconds(30));

        system.consumer().kill();
        long downSince = System.nanoTime();
        await("several retry rounds fail while the consumer is down").atMost(Duration.ofSeconds(40))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> Faults.maxPendingAttempts(database) >= ATTEMPTS_WHILE_DOWN
                        && System.nanoTime() - downSince >= AT_LEAST_DOWN.toNanos());
        long failedWhileDown = relay.metrics().path("failed").asLong();
        int attemptsWhileDown = Faults.maxPendingAttempts(database);
        system.restartConsumer();

        load.awaitMoreOrders(40, Duration.ofSeconds(30));
        load.stop();
        load.settle(Faults.SETTLE);
        Invariants.Report report = Invariants.verify(system, load, Faults.DRAIN);

        assertThat(failedWhileDown).as("deliveries that failed while the consumer was down").isPositive();
        assertThat(report.retries()).as("retries").isPositive();
        assertThat(relay.process().isAlive()).as("the relay rode out the outage without a restart").isTrue();
        System.out.println("[ConsumerOutageTest] failed deliveries while down: " + failedWhileDown
                + ", most attempts of one message: " + attemptsWhileDown);
    }
}
