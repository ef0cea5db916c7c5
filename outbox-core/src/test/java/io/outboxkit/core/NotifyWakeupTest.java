package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class NotifyWakeupTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension();

    @Test
    void a_message_written_while_the_poller_idles_is_delivered_well_before_the_poll_interval() {
        RecordingPublisher publisher = new RecordingPublisher();
        Duration pollInterval = Duration.ofSeconds(60);
        try (OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).pollInterval(pollInterval).build()) {
            poller.start();
            // Once it listens and has looked once (finding nothing), only a NOTIFY can wake it before 60 s.
            await().atMost(Duration.ofSeconds(10)).until(() -> listening() && poller.stats().polls() >= 1);
            UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
            long written = System.nanoTime();
            await().atMost(Duration.ofSeconds(5)).until(() -> publisher.delivered(id));
            assertThat(Duration.ofNanos(System.nanoTime() - written)).isLessThan(pollInterval.dividedBy(10));
        }
    }

    private static boolean listening() {
        return db.jdbi().withHandle(h -> h.createQuery(
                "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN outbox'")
                .mapTo(Boolean.class).one());
    }
}
