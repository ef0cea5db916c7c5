package io.outboxkit.system.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.system.RelayProcess;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.TestDatabase;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Fault 2: two, then four relays share one outbox (each claims disjoint batches with
 * {@code FOR UPDATE SKIP LOCKED}); one is killed with SIGKILL mid-batch and not restarted. The two
 * relays deliver a batch per request (the default), the four one request per message
 * ({@code DELIVERY=single}), so both ways of delivering are tried. The
 * others take over its leased rows once the lease ends; nothing is lost or applied twice, and no
 * two relays ever deliver one aggregate out of order.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class SeveralRelaysTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(TestDatabase::createSchemas, 3);

    private RunningSystem system;
    private LoadGenerator load;

    @BeforeEach
    void emptyDatabase() {
        db.truncateAll();
    }

    @AfterEach
    void stopEverything() throws Exception {
        Faults.closeAll(load, system);
    }

    @ParameterizedTest(name = "{0} relays ({1} delivery), one killed")
    @CsvSource({"2, batch", "4, single"})
    void relays_share_the_outbox_and_killing_one_mid_batch_loses_nothing(int relays, String delivery) throws Exception {
        TestDatabase database = TestDatabase.of(db);
        system = new RunningSystem(database, "SeveralRelaysTest-" + relays)
                .withRelayEnv(Faults.relayEnv(Map.of("DELIVERY", delivery)))
                .withServiceEnv(Faults.SERVICE_ENV).start(relays);
        load = LoadGenerator.start(system.orderUrl(""), LoadGenerator.Options.defaults().withRate(80));

        await("every relay has claimed messages").atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(200))
                .untilAsserted(() -> assertThat(system.relays())
                        .allSatisfy(r -> assertThat(r.metrics().path("claimed").asLong()).as("%s claimed", r).isPositive()));

        RelayProcess victim = system.relays().get(relays - 1);
        Faults.awaitMidBatch(database, victim, Duration.ofSeconds(30));
        victim.process().kill();
        List<UUID> stranded = database.jdbi().withHandle(h -> h.createQuery(
                        "SELECT id FROM outbox WHERE status = 'PENDING' AND locked_by = :relay")
                .bind("relay", victim.name()).mapTo(UUID.class).list());

        load.awaitMoreOrders(60, Duration.ofSeconds(40));
        load.stop();
        load.settle(Faults.SETTLE);
        Invariants.verify(system, load, Faults.DRAIN);

        assertThat(system.liveRelays()).as("the relays not killed are still running").hasSize(relays - 1);
        if (!stranded.isEmpty()) {
            List<Boolean> takenOver = database.jdbi().withHandle(h -> h.createQuery(
                            "SELECT locked_by IS NULL AND attempts >= 2 AND status = 'PUBLISHED' FROM outbox WHERE id = ANY(CAST(:ids AS uuid[]))")
                    .bindArray("ids", String.class, stranded.stream().map(UUID::toString).toList())
                    .mapTo(Boolean.class).list());
            assertThat(takenOver).as("the killed relay's leased rows were claimed again and delivered by another relay")
                    .hasSize(stranded.size()).allMatch(Boolean::booleanValue);
        }
        System.out.println("[SeveralRelaysTest] " + relays + " relays (" + delivery + "); rows stranded by the kill: " + stranded.size());
    }
}
