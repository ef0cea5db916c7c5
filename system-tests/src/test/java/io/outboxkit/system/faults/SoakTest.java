package io.outboxkit.system.faults;

import io.outboxkit.system.RelayProcess;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.TestDatabase;
import io.outboxkit.testing.PostgresExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The soak run: a large stream of orders, payments and cancellations through the whole system
 * with several relays, one of them killed with SIGKILL and restarted at random all along; then
 * the {@link Invariants}, and the counts printed. Not part of the normal build (tag {@code soak}):
 *
 * <pre>
 * mvn -B -pl system-tests verify -Dgroups=soak -DexcludedGroups= -Dsoak.orders=100000
 * cat system-tests/target/soak-report.txt
 * </pre>
 *
 * System properties: {@code soak.orders} (default 100,000), {@code soak.relays} (3),
 * {@code soak.workers} (load threads, 8), {@code soak.rate} (requests a second, 0 = as fast as the
 * order service answers), {@code soak.killEveryMs} (the longest pause between two kills, 10,000).
 */
@Tag("soak")
@Timeout(value = 3, unit = TimeUnit.HOURS)
class SoakTest {

    private static final long ORDERS = Long.getLong("soak.orders", 100_000);
    private static final int RELAYS = Integer.getInteger("soak.relays", 3);
    private static final int WORKERS = Integer.getInteger("soak.workers", 8);
    private static final double RATE = Double.parseDouble(System.getProperty("soak.rate", "0"));
    /** Where the counts are written (surefire keeps the test's own output in target/surefire-reports). */
    private static final Path REPORT = Path.of("target", "soak-report.txt");
    private static final long KILL_EVERY_MS = Long.getLong("soak.killEveryMs", 10_000);

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(TestDatabase::createSchemas, 3);

    private RunningSystem system;
    private LoadGenerator load;

    @AfterEach
    void stopEverything() throws Exception {
        Faults.closeAll(load, system);
    }

    @Test
    void a_large_stream_with_relays_killed_at_random_keeps_every_promise() throws Exception {
        long start = System.nanoTime();
        system = new RunningSystem(TestDatabase.of(db), "SoakTest")
                .withRelayEnv(Faults.relayEnv(Map.of("BATCH_SIZE", "100", "POLL_INTERVAL_MS", "200")))
                .withServiceEnv(Map.of("DB_POOL_SIZE", String.valueOf(Math.max(6, WORKERS + 2))))
                .start(RELAYS);
        load = LoadGenerator.start(system.orderUrl(""), LoadGenerator.Options.defaults()
                .withWorkers(WORKERS).withUsers(50).withRate(RATE).withMaxOrders(ORDERS));

        Random random = new Random();
        int kills = 0;
        long lastReport = System.nanoTime();
        // The chaos schedule: a random pause (cut short when the load is done), then a random relay
        // is killed, stays dead for a random moment (the fault itself), and is started again.
        while (!load.awaitWorkersDone(Duration.ofMillis(1_000 + random.nextLong(Math.max(1, KILL_EVERY_MS - 1_000))))) {
            List<RelayProcess> live = system.liveRelays();
            RelayProcess victim = live.get(random.nextInt(live.size()));
            victim.process().kill();
            kills++;
            TimeUnit.MILLISECONDS.sleep(random.nextInt(2_000)); // the relay stays dead: the fault, not synchronisation
            system.restartRelay(victim);
            if (System.nanoTime() - lastReport > TimeUnit.SECONDS.toNanos(30)) {
                System.out.printf("[soak] %.0f s: %s, relay kills %d%n", seconds(start), load.stats(), kills);
                lastReport = System.nanoTime();
            }
        }
        long loadDone = System.nanoTime();
        load.stop();
        load.settle(Duration.ofMinutes(2));
        Invariants.Report report = Invariants.verify(system, load, Duration.ofMinutes(15));
        long failedOfLiveRelays = system.liveRelays().stream().mapToLong(r -> r.metrics().path("failed").asLong()).sum();

        String summary = String.format("""
                [soak] ---------------------------------------------------------------
                [soak] orders created (201)        %d   (paid %d, cancelled %d)
                [soak] messages delivered          %d of %d
                [soak] duplicates absorbed         %d   (consumer /stats)
                [soak] retries                     %d   (outbox attempts beyond the first; failed deliveries of the relays now running: %d)
                [soak] ordering violations         %d
                [soak] lost                        %d
                [soak] relay kills (SIGKILL)       %d   with %d relays
                [soak] elapsed                     %.1f s   (load %.1f s, %.0f orders/s; then drained and verified)
                [soak] ---------------------------------------------------------------
                """, report.orders(), report.paid(), report.cancelled(), report.published(), report.messages(),
                report.duplicates(), report.retries(), failedOfLiveRelays, report.violations(), report.lost(), kills, RELAYS,
                seconds(start), (loadDone - start) / 1e9, report.orders() / ((loadDone - start) / 1e9));
        System.out.print(summary);
        Files.writeString(REPORT, summary);
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }
}
