package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class OrderingTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_later_message_waits_until_the_earlier_one_of_its_aggregate_is_delivered(ClaimMode mode) {
        List<UUID> ids = Outbox.write(db.jdbi(), 1, 3); // agg-0: Event0, Event1, Event2
        AtomicInteger failuresLeft = new AtomicInteger(3);
        RecordingPublisher publisher = new RecordingPublisher()
                .failWhen(m -> m.eventType().equals("Event0") && failuresLeft.getAndDecrement() > 0);
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).claimMode(mode)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(2)).jitter(0).build();

        for (int i = 0; i < 3; i++) {
            makeAllDue();
            assertThat(poller.pollOnce()).as("only the head of the aggregate is claimed").isEqualTo(1);
        }
        assertThat(publisher.deliveredCount()).isZero();
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            makeAllDue();
            poller.pollOnce();
            return Outbox.count(db.jdbi(), "PUBLISHED") == ids.size();
        });
        assertThat(publisher.sequencesOf("agg-0")).isSorted().hasSize(3);
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_dead_message_holds_back_the_rest_of_its_aggregate_by_default(ClaimMode mode) {
        Outbox.write(db.jdbi(), 2, 2);
        RecordingPublisher publisher = new RecordingPublisher()
                .failWhen(m -> m.aggregateId().equals("agg-0") && m.eventType().equals("Event0"));
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).claimMode(mode).maxAttempts(1).build();
        drain(poller);

        assertThat(publisher.sequencesOf("agg-0")).as("Event1 of agg-0 waits behind its DEAD Event0").isEmpty();
        assertThat(publisher.sequencesOf("agg-1")).hasSize(2);
        assertThat(Outbox.count(db.jdbi(), "DEAD")).isEqualTo(1);
        assertThat(Outbox.count(db.jdbi(), "PENDING")).isEqualTo(1);

        publisher.failWhen(m -> false);
        OutboxAdmin.create(db.jdbi()).requeueDead();
        drain(poller);
        assertThat(publisher.sequencesOf("agg-0")).hasSize(2).isSorted();
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_dead_message_can_be_configured_not_to_hold_back_its_aggregate(ClaimMode mode) {
        Outbox.write(db.jdbi(), 1, 2);
        RecordingPublisher publisher = new RecordingPublisher().failWhen(m -> m.eventType().equals("Event0"));
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).claimMode(mode).maxAttempts(1)
                .deadMessagesBlockAggregate(false).build();
        drain(poller);
        assertThat(publisher.sequencesOf("agg-0")).hasSize(1);
        assertThat(Outbox.count(db.jdbi(), "DEAD")).isEqualTo(1);
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isEqualTo(1);
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void without_ordering_a_batch_takes_several_messages_of_one_aggregate(ClaimMode mode) {
        Outbox.write(db.jdbi(), 1, 5);
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), new RecordingPublisher()).claimMode(mode)
                .orderedByAggregate(false).build();
        assertThat(poller.pollOnce()).isEqualTo(5);
    }

    private static void drain(OutboxPoller poller) {
        while (poller.pollOnce() > 0) {
            // until nothing is claimable
        }
    }

    private static void makeAllDue() {
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET available_at = now() WHERE status = 'PENDING'"));
    }
}
