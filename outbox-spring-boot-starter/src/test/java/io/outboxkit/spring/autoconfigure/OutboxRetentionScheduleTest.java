package io.outboxkit.spring.autoconfigure;

import static org.awaitility.Awaitility.await;

import io.outboxkit.core.OutboxRetention;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The schedule outlives a run that fails, however it fails. */
class OutboxRetentionScheduleTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply);

    @Test
    void a_run_that_throws_an_error_does_not_end_the_schedule_and_a_later_run_deletes() {
        AtomicInteger connections = new AtomicInteger();
        // The first run's first connection fails with an Error (a stack overflow in a pool's code, say).
        Jdbi jdbi = Jdbi.create(() -> {
            if (connections.getAndIncrement() == 0) {
                throw new StackOverflowError("the first run's connection");
            }
            return db.dataSource().getConnection();
        });
        UUID old = db.jdbi().withHandle(h -> h.createQuery("INSERT INTO outbox (id, aggregate_type, aggregate_id, "
                + "event_type, payload, status, published_at) VALUES (gen_random_uuid(), 'Order', 'a', 'OrderCreated', "
                + "'{}', 'PUBLISHED', now() - interval '2 hours') RETURNING id").mapTo(UUID.class).one());
        OutboxRetentionSchedule schedule = new OutboxRetentionSchedule(
                OutboxRetention.builder(jdbi).publishedRetention(Duration.ofHours(1)).build(), Duration.ofMillis(50));

        schedule.start();
        try {
            await().alias("a run after the one that threw deletes the message published 2 hours ago")
                    .atMost(Duration.ofSeconds(10)).until(() -> db.jdbi().withHandle(h -> h.createQuery(
                            "SELECT count(*) FROM outbox WHERE id = ?").bind(0, old).mapTo(Long.class).one()) == 0);
        } finally {
            schedule.stop();
        }
    }
}
