package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ConcurrentPollersTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(24);

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @ParameterizedTest(name = "ordered by aggregate: {0}")
    @ValueSource(booleans = {true, false})
    void four_pollers_on_one_backlog_deliver_every_message_exactly_once_in_normal_operation(boolean ordered) {
        List<UUID> ids = Outbox.write(db.jdbi(), 100, 10);
        RecordingPublisher publisher = new RecordingPublisher();
        List<OutboxPoller> pollers = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).name("poller-" + i)
                        .batchSize(25).orderedByAggregate(ordered).pollInterval(Duration.ofMillis(100)).build();
                pollers.add(poller);
                poller.start();
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> Outbox.count(db.jdbi(), "PUBLISHED") == ids.size());
        } finally {
            pollers.forEach(OutboxPoller::close);
        }
        assertThat(ids).allMatch(publisher::delivered);
        assertThat(publisher.duplicates()).isEmpty();
        assertThat(pollers).as("the work was shared").filteredOn(p -> p.stats().delivered() > 0).hasSizeGreaterThan(1);
        if (ordered) {
            for (Map.Entry<String, List<Long>> aggregate : publisher.sequencesByAggregate().entrySet()) {
                assertThat(aggregate.getValue()).as("delivery order of %s", aggregate.getKey()).isSorted();
            }
        }
    }

    @Test
    void the_workers_of_one_poller_share_a_backlog_and_keep_each_aggregates_order() {
        List<UUID> ids = Outbox.write(db.jdbi(), 200, 10);
        RecordingPublisher publisher = new RecordingPublisher();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).name("workers").workers(4)
                .batchSize(10).pollInterval(Duration.ofMillis(100)).build();
        try {
            poller.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> Outbox.count(db.jdbi(), "PUBLISHED") == ids.size());
        } finally {
            poller.close();
        }
        assertThat(ids).allMatch(publisher::delivered);
        assertThat(publisher.duplicates()).isEmpty();
        assertThat(poller.stats().delivered()).isEqualTo(ids.size());
        for (Map.Entry<String, List<Long>> aggregate : publisher.sequencesByAggregate().entrySet()) {
            assertThat(aggregate.getValue()).as("delivery order of %s", aggregate.getKey()).isSorted();
        }
    }

    @Test
    void a_batch_is_claimed_by_one_poller_only() {
        Outbox.write(db.jdbi(), 50, 1);
        RecordingPublisher publisher = new RecordingPublisher();
        OutboxPoller first = OutboxPoller.builder(db.jdbi(), message -> { }).name("first").batchSize(30).build();
        OutboxPoller second = OutboxPoller.builder(db.jdbi(), publisher).name("second").batchSize(100).build();
        // first claims 30 and delivers them; second then finds only the other 20.
        assertThat(first.pollOnce()).isEqualTo(30);
        assertThat(second.pollOnce()).isEqualTo(20);
        assertThat(second.pollOnce()).isZero();
    }
}
