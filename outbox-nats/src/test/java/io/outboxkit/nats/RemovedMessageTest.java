package io.outboxkit.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.OutboxMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A failed message that leaves the stream while the source waits for its redelivery (an operator
 * removes it, or a limit of the stream ages it out): the server never delivers it again, so the
 * source must not wait for it for ever, holding back every later message of its aggregate, each
 * kept in hand unacknowledged (and its ack wait extended) for as long as the source runs.
 */
class RemovedMessageTest {

    private static final Duration DEADLINE = Duration.ofSeconds(30);

    private final TestNats nats = TestNats.shared();

    @AfterEach
    void cleanUp() throws Exception {
        nats.close();
    }

    @Test
    void the_later_messages_of_an_aggregate_go_on_once_its_failed_message_is_removed_from_the_stream() throws Exception {
        OutboxMessage removed = TestNats.message("order-a");
        List<OutboxMessage> later = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            later.add(TestNats.message("order-a"));
        }
        try (NatsPublisher publisher = nats.publisher().build()) {
            assertThat(publisher.publishAll(List.of(removed))).isEmpty();
            assertThat(publisher.publishAll(later)).isEmpty();
        }
        CountDownLatch failedOnce = new CountDownLatch(1);
        Received receiver = new Received().failing(m -> {
            if (m.id().equals(removed.id())) {
                failedOnce.countDown();
                return true;
            }
            return false;
        });
        // The source asks the stream about a redelivery overdue by its backoff plus the ack wait.
        NatsSource source = nats.source("removed").initialBackoff(Duration.ofSeconds(2)).maxBackoff(Duration.ofSeconds(2))
                .ackWait(Duration.ofSeconds(2)).reconnectWait(Duration.ofMillis(100)).build();
        nats.closeAtEnd(source);
        source.start(receiver);
        assertThat(failedOnce.await(20, TimeUnit.SECONDS)).isTrue();

        // The operator removes the failing message from the stream (its first one) while it waits for its retry.
        assertThat(nats.management().deleteMessage(nats.stream, 1)).isTrue();

        await().atMost(DEADLINE).untilAsserted(() -> assertThat(receiver.appliedCount())
                .as("later messages of the aggregate applied; the source holds %d message(s) in hand",
                        inHand(source))
                .isEqualTo(later.size()));
    }

    private static int inHand(NatsSource source) throws Exception {
        java.lang.reflect.Field field = NatsSource.class.getDeclaredField("inHand");
        field.setAccessible(true);
        return ((InHand) field.get(source)).size();
    }
}
