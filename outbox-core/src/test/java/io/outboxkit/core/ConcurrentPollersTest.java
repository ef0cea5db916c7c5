package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class ConcurrentPollersTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables, 24);

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    static Stream<Arguments> orderedAndClaimMode() {
        return Stream.of(true, false)
                .flatMap(ordered -> Stream.of(ClaimMode.values()).map(mode -> Arguments.of(ordered, mode)));
    }

    @ParameterizedTest(name = "ordered by aggregate: {0}, claim mode: {1}")
    @MethodSource("orderedAndClaimMode")
    void four_pollers_on_one_backlog_deliver_every_message_exactly_once_in_normal_operation(boolean ordered,
            ClaimMode mode) {
        List<UUID> ids = Outbox.write(db.jdbi(), 100, 10);
        RecordingPublisher publisher = new RecordingPublisher();
        // The first poller to deliver waits (a little) for a second one to deliver too, so that on a
        // loaded machine it does not drain the backlog alone before the others have started.
        Set<String> delivering = ConcurrentHashMap.newKeySet();
        CountDownLatch twoDelivering = new CountDownLatch(1);
        MessagePublisher waitingForCompany = message -> {
            delivering.add(Thread.currentThread().getName());
            if (delivering.size() > 1) {
                twoDelivering.countDown();
            } else {
                twoDelivering.await(5, TimeUnit.SECONDS);
            }
            publisher.publish(message);
        };
        List<OutboxPoller> pollers = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                OutboxPoller poller = OutboxPoller.builder(db.jdbi(), waitingForCompany).name("poller-" + i).claimMode(mode)
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

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void the_workers_of_one_poller_share_a_backlog_and_keep_each_aggregates_order(ClaimMode mode) {
        List<UUID> ids = Outbox.write(db.jdbi(), 200, 10);
        RecordingPublisher publisher = new RecordingPublisher();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).name("workers").claimMode(mode).workers(4)
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

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_batch_is_claimed_by_one_poller_only(ClaimMode mode) {
        Outbox.write(db.jdbi(), 50, 1);
        RecordingPublisher publisher = new RecordingPublisher();
        OutboxPoller first = OutboxPoller.builder(db.jdbi(), message -> { }).name("first").claimMode(mode)
                .batchSize(30).build();
        OutboxPoller second = OutboxPoller.builder(db.jdbi(), publisher).name("second").claimMode(mode)
                .batchSize(100).build();
        // first claims 30 and delivers them; second then finds only the other 20.
        assertThat(first.pollOnce()).isEqualTo(30);
        assertThat(second.pollOnce()).isEqualTo(20);
        assertThat(second.pollOnce()).isZero();
    }
}
