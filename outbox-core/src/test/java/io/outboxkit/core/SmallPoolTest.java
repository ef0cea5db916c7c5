package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.spi.OutboxListener;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The poller's need of connections: its LISTEN thread keeps one of the pool's for as long as it
 * runs, and each worker borrows one while it claims or records. A pool of workers + 1 delivers; on
 * a pool too small for that, a poll that gets no connection while the LISTEN thread holds one says
 * so, and how many connections the poller needs, in its log line and to the listeners.
 */
class SmallPoolTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables, 2);

    private static final Duration CONNECTION_TIMEOUT = Duration.ofMillis(500);

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @Test
    void on_a_pool_of_one_connection_a_failed_poll_says_the_listen_thread_holds_it_and_how_many_are_needed() {
        Outbox.write(db.jdbi(), 1, 1);
        List<Exception> pollFailures = new CopyOnWriteArrayList<>();
        OutboxListener failures = new OutboxListener() {
            @Override
            public void pollFailed(Exception e) {
                pollFailures.add(e);
            }
        };
        try (HikariDataSource one = db.newPool(1, config -> config.setConnectionTimeout(CONNECTION_TIMEOUT.toMillis()))) {
            OutboxPoller poller = OutboxPoller.builder(Jdbi.create(one), m -> { }).workers(2)
                    .addListener(failures).build();
            poller.start();
            try {
                await("a failed poll that names the LISTEN connection").atMost(Duration.ofSeconds(20)).until(() -> pollFailures.stream()
                        .anyMatch(e -> String.valueOf(e.getMessage()).contains("LISTEN")));
                Exception explained = pollFailures.stream()
                        .filter(e -> String.valueOf(e.getMessage()).contains("LISTEN")).findFirst().orElseThrow();
                assertThat(explained).isInstanceOf(OutboxException.class)
                        .hasMessageContaining("holds one of the pool's connections for as long as the poller runs")
                        .hasMessageContaining("at least 3 connections for this poller (2 worker(s) + 1 for LISTEN)");
            } finally {
                poller.close();
            }
        }
    }

    @Test
    void a_poller_delivers_on_a_pool_of_workers_plus_one_connections() {
        Outbox.write(db.jdbi(), 20, 5);
        AtomicInteger delivered = new AtomicInteger();
        try (HikariDataSource pool = db.newPool(3, config -> config.setConnectionTimeout(CONNECTION_TIMEOUT.toMillis()))) {
            OutboxPoller poller = OutboxPoller.builder(Jdbi.create(pool), m -> delivered.incrementAndGet())
                    .workers(2).batchSize(10).build();
            poller.start();
            try {
                await().atMost(Duration.ofSeconds(20)).until(() -> Outbox.count(db.jdbi(), "PUBLISHED") == 100);
                assertThat(poller.stats().errors()).as("failed polls").isZero();
            } finally {
                poller.close();
            }
        }
    }
}
