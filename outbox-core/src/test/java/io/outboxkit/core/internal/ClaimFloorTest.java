package io.outboxkit.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxSchema;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.core.PollerSettings;
import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A poller working through a backlog reads the pending index from the lowest position of a batch
 * claimed a second ago, not from its start; a message that claim skipped (here: one whose
 * transaction stayed open while later messages were claimed) is still claimed, once the poller
 * catches up or by the claim that reads from the start at least every ten seconds. The clock is
 * the test's, so that no test waits for those seconds.
 */
class ClaimFloorTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(dataSource -> {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(OutboxSchema.sql(OutboxNames.DEFAULT));
        }
    });

    private static final int BATCH = 10;

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private OutboxStore store;

    @BeforeEach
    void setUp() {
        db.jdbi().useHandle(h -> h.execute("TRUNCATE outbox"));
        PollerSettings settings = OutboxPoller.builder(db.jdbi(), message -> { }).batchSize(BATCH).build().settings();
        store = new OutboxStore(db.jdbi(), settings, nanos::get);
    }

    @Test
    void a_message_committed_below_the_floor_is_claimed_once_the_poller_catches_up() {
        UUID late;
        try (Handle open = db.jdbi().open()) {
            open.begin();
            late = OutboxWriter.create().write(open, message("late")); // its position is drawn now, below what follows
            write(3 * BATCH - 5);

            assertThat(claim()).hasSize(BATCH); // from the start: the late one is not committed yet
            later(ClaimFloor.SETTLED.plusMillis(100));
            assertThat(claim()).hasSize(BATCH); // from the first batch's lowest position
            open.commit();
        }
        later(Duration.ofMillis(100));
        List<UUID> floored = claim();
        assertThat(floored).as("a claim reading from the first batch's lowest position").hasSize(BATCH - 5)
                .doesNotContain(late);
        assertThat(claim()).as("caught up: the next claim reads from the start").containsExactly(late);
    }

    @Test
    void a_message_below_the_floor_is_claimed_by_the_claim_that_reads_from_the_start() {
        UUID late = committedAfterTwoClaims(20 * BATCH, ClaimFloor.SETTLED.plusMillis(100));
        Duration elapsed = ClaimFloor.SETTLED.plusMillis(100);
        while (elapsed.plus(Duration.ofMillis(500)).compareTo(ClaimFloor.FULL_SCAN_EVERY) < 0) {
            later(Duration.ofMillis(500));
            elapsed = elapsed.plus(Duration.ofMillis(500));
            assertThat(claim()).as("full batches read from a floor above it").hasSize(BATCH).doesNotContain(late);
        }
        later(ClaimFloor.FULL_SCAN_EVERY.minus(elapsed));
        assertThat(claim()).as("ten seconds after the last claim from the start").hasSize(BATCH).contains(late);
    }

    @Test
    void without_a_full_batch_a_second_ago_every_claim_reads_from_the_start() {
        UUID late = committedAfterTwoClaims(5 * BATCH, ClaimFloor.SETTLED.minusMillis(100));
        assertThat(claim()).as("the only full batches are younger than a second").contains(late);
    }

    /**
     * A message whose transaction draws its position, then stays open while {@code others} later
     * messages are committed and two claims run {@code between} apart; committed after them.
     */
    private UUID committedAfterTwoClaims(int others, Duration between) {
        try (Handle open = db.jdbi().open()) {
            open.begin();
            UUID late = OutboxWriter.create().write(open, message("late"));
            write(others);
            claim();
            later(between);
            claim();
            open.commit();
            return late;
        }
    }

    private List<UUID> claim() {
        try (OutboxStore.Claim claim = store.claim()) {
            List<UUID> ids = new ArrayList<>();
            for (OutboxMessage message : claim.messages()) {
                ids.add(message.id());
            }
            return ids;
        }
    }

    private void later(Duration duration) {
        nanos.addAndGet(duration.toNanos());
    }

    private static void write(int count) {
        db.jdbi().useTransaction(h -> {
            List<NewMessage> messages = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                messages.add(message("order-" + i));
            }
            OutboxWriter.create().writeAll(h, messages);
        });
    }

    private static NewMessage message(String aggregateId) {
        return NewMessage.of("Order", aggregateId, "OrderCreated", "{}");
    }
}
