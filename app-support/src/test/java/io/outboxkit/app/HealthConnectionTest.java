package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.TcpProxy;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The readiness check's own connection, as probes and the database see it: a reading answers every
 * probe for a second, one check at a time, and nothing is left on the server once it is closed. A
 * proxy the test owns between it and PostgreSQL makes the database silent (and counts what a
 * check would send) without touching the shared server.
 */
class HealthConnectionTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 1);

    private static final String APPLICATION_NAME = "health check";

    private TcpProxy proxy;
    private HealthConnection health;

    @BeforeEach
    void open() throws Exception {
        proxy = new TcpProxy(URI.create(db.jdbcUrl().substring("jdbc:".length())).getPort());
        health = new HealthConnection(new DatabaseSettings(proxy.uri(db.jdbcUrl()), db.user(), db.password()));
    }

    @AfterEach
    void close() throws Exception {
        proxy.thaw();
        health.close();
        proxy.close();
    }

    @Test
    void probes_from_many_threads_within_a_second_of_a_reading_send_the_database_nothing() throws Exception {
        assertThat(health.isUp()).isTrue();
        long readAt = System.nanoTime();
        proxy.freeze(); // any query now would be counted, and would hang

        List<Boolean> answers = probeFromManyThreads(32, 20);
        Duration took = Duration.ofNanos(System.nanoTime() - readAt);

        assertThat(took).as("the probes ran within the reading's second").isLessThan(HealthConnection.READING_KEPT);
        assertThat(answers).hasSize(32 * 20).containsOnly(true);
        assertThat(proxy.heldBack()).as("bytes sent to the database").isZero();
    }

    @Test
    void a_probe_while_another_checks_gets_the_previous_reading_without_waiting() throws Exception {
        assertThat(health.isUp()).isTrue();
        long readAt = System.nanoTime();
        await().atMost(Duration.ofSeconds(5)).until(() -> System.nanoTime() - readAt > HealthConnection.READING_KEPT.toNanos());
        proxy.freeze();
        CompletableFuture<Boolean> checking = CompletableFuture.supplyAsync(health::isUp);
        // Its query is on the wire: the check holds the lock for a second at least (isValid's timeout).
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10)).until(() -> proxy.heldBack() > 0);

        long asked = System.nanoTime();
        List<Boolean> answers = probeFromManyThreads(16, 5);
        Duration took = Duration.ofNanos(System.nanoTime() - asked);

        assertThat(answers).as("the previous reading").containsOnly(true);
        assertThat(took).as("no probe waited for the check, nor checked itself").isLessThan(Duration.ofMillis(500));
        assertThat(checking).as("the check is still waiting for the silent database").isNotDone();
        assertThat(checking.get(10, TimeUnit.SECONDS)).as("the silent database reads down").isFalse();
    }

    @Test
    void once_closed_it_reads_down_and_leaves_no_session_on_the_server() {
        assertThat(health.isUp()).isTrue();
        assertThat(sessions()).as("its one session, while open").isEqualTo(1);

        health.close();

        assertThat(health.isUp()).as("within the reading's second, too").isFalse();
        await().atMost(Duration.ofSeconds(10)).until(() -> sessions() == 0);
    }

    /** The health check's sessions on this class's database (other tests share the server). */
    private static long sessions() {
        return TestDatabases.count(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                + " AND application_name = '" + APPLICATION_NAME + "'");
    }

    private List<Boolean> probeFromManyThreads(int threads, int probesEach) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<List<Boolean>>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    List<Boolean> mine = new ArrayList<>();
                    for (int i = 0; i < probesEach; i++) {
                        mine.add(health.isUp());
                    }
                    return mine;
                }));
            }
            List<Boolean> all = new ArrayList<>();
            for (Future<List<Boolean>> future : futures) {
                all.addAll(future.get(10, TimeUnit.SECONDS));
            }
            return all;
        } finally {
            pool.shutdownNow();
        }
    }
}
