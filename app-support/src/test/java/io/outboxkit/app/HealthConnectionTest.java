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
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The readiness check's own connection, as probes and the database see it: a reading answers every
 * probe for a second, one check at a time, and nothing is left on the server once it is closed. A
 * proxy the test owns between it and PostgreSQL makes the database silent (and counts what a
 * check would send) without touching the shared server. The test owns the clock a reading's age is
 * read from, so no assertion depends on how fast this machine runs the probes.
 */
class HealthConnectionTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 1);

    private static final String APPLICATION_NAME = "health check";

    private final AtomicLong nanos = new AtomicLong();
    private TcpProxy proxy;
    private HealthConnection health;

    @BeforeEach
    void open() throws Exception {
        proxy = new TcpProxy(URI.create(db.jdbcUrl().substring("jdbc:".length())).getPort());
        health = new HealthConnection(new DatabaseSettings(proxy.uri(db.jdbcUrl()), db.user(), db.password()),
                nanos::get);
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
        proxy.freeze(); // any query now would be counted, and would hang
        nanos.addAndGet(HealthConnection.READING_KEPT.toNanos() - 1);

        List<Boolean> answers = probeFromManyThreads(32, 20);

        assertThat(answers).hasSize(32 * 20).containsOnly(true);
        assertThat(proxy.heldBack()).as("bytes sent to the database").isZero();
    }

    @Test
    void a_reading_a_second_old_is_checked_again() {
        assertThat(health.isUp()).isTrue();
        proxy.freeze();
        nanos.addAndGet(HealthConnection.READING_KEPT.toNanos());

        assertThat(health.isUp()).as("the silent database, asked again").isFalse();
        assertThat(proxy.heldBack()).as("bytes sent to the database").isPositive();
    }

    @Test
    void a_probe_while_another_checks_gets_the_previous_reading_without_waiting() throws Exception {
        assertThat(health.isUp()).isTrue();
        nanos.addAndGet(HealthConnection.READING_KEPT.toNanos());
        proxy.freeze();
        CompletableFuture<Boolean> checking = CompletableFuture.supplyAsync(health::isUp);
        // Its query is on the wire: the check holds the lock until the silent database times out.
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10)).until(() -> proxy.heldBack() > 0);

        // Had a probe waited for the check, it would read the check's answer: down.
        assertThat(health.isUp()).as("the previous reading, while the check waits").isTrue();
        assertThat(checking.get(10, TimeUnit.SECONDS)).as("the silent database reads down").isFalse();
        assertThat(health.isUp()).as("the check's reading, once it is done").isFalse();
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
