package io.outboxkit.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.testing.TcpProxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The source when its connection to the broker is cut, through a TCP proxy the test owns: what it
 * had not acknowledged comes back, nothing is lost, and each aggregate is applied in order.
 */
class SourceFaultTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private Broker broker;
    private TcpProxy proxy;
    private String exchange;
    private String queue;
    private RabbitMqPublisher publisher;
    private RabbitMqSource source;
    private final Recorder recorder = new Recorder();

    @BeforeEach
    void setUp() throws Exception {
        broker = new Broker();
        proxy = new TcpProxy(Broker.port());
        exchange = broker.exchange("source-faults");
        queue = broker.queue("source-faults");
        publisher = RabbitMqPublisher.builder(Broker.URI).exchange(exchange).build();
        source = RabbitMqSource.builder(proxy.uri(Broker.URI), queue).exchange(exchange).prefetch(20).batchSize(10)
                .initialBackoff(Duration.ofMillis(10)).maxBackoff(Duration.ofMillis(50))
                .reconnectInterval(Duration.ofMillis(100)).timeout(Duration.ofSeconds(5)).build();
        source.start(recorder);
    }

    @AfterEach
    void tearDown() throws Exception {
        source.close();
        publisher.close();
        proxy.close();
        broker.close();
    }

    @Test
    void a_crash_between_receive_and_ack_delivers_the_batch_again() throws Exception {
        recorder.holdNextBatch();
        List<OutboxMessage> messages = Messages.orders(5);
        assertThat(publisher.publishAll(messages)).isEmpty();
        await().atMost(WAIT).until(recorder::isHolding);

        proxy.cut(); // to the broker, the consumer died with the batch unacknowledged
        await().atMost(WAIT).until(() -> !source.isConnected());
        assertThat(source.isAlive()).as("reconnecting is alive: a restart would not help").isTrue();
        recorder.release();
        proxy.restore();

        List<OutboxMessage> inHand = recorder.batches.get(0);
        await().atMost(WAIT).until(() -> inHand.stream().allMatch(m -> recorder.deliveries(m.id()) == 2));
        await().atMost(WAIT).until(() -> recorder.appliedCount() == 5);
        assertThat(source.isConnected()).isTrue();
    }

    @Test
    void a_source_started_while_the_broker_is_unreachable_receives_once_it_answers() throws Exception {
        String otherQueue = broker.queue("late");
        proxy.cut();
        try (RabbitMqSource late = RabbitMqSource.builder(proxy.uri(Broker.URI), otherQueue).exchange(exchange)
                .reconnectInterval(Duration.ofMillis(100)).build()) {
            Recorder lateRecorder = new Recorder();
            late.start(lateRecorder);
            assertThat(late.isConnected()).isFalse();
            assertThat(late.isAlive()).isTrue();

            proxy.restore();
            await().atMost(WAIT).until(late::isConnected);
            List<OutboxMessage> messages = Messages.orders(3);
            assertThat(publisher.publishAll(messages)).isEmpty();
            await().atMost(WAIT).until(() -> lateRecorder.appliedCount() == 3);
        }
    }

    @Test
    void the_source_resumes_after_its_connection_is_cut_twice_without_losing_or_reordering_messages() throws Exception {
        Random random = new Random(7);
        List<OutboxMessage> messages = new ArrayList<>();
        for (int n = 0; n < 20; n++) {
            for (int a = 0; a < 20; a++) {
                messages.add(Messages.message("Order", "order-" + a, "Event" + n));
            }
        }
        Set<UUID> failOnce = ConcurrentHashMap.newKeySet();
        messages.stream().filter(m -> random.nextInt(10) == 0).forEach(m -> failOnce.add(m.id()));
        recorder.failure = m -> failOnce.remove(m.id()) ? "failing once" : null;
        Thread publishing = new Thread(() -> {
            try {
                for (int i = 0; i < messages.size(); i += 20) {
                    Map<UUID, Exception> failures = publisher.publishAll(messages.subList(i, i + 20));
                    assertThat(failures).isEmpty();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        publishing.start();

        for (int cut = 1; cut <= 2; cut++) {
            int appliedBefore = cut * 120;
            await().atMost(WAIT).until(() -> recorder.appliedCount() >= appliedBefore);
            proxy.cut();
            await().atMost(WAIT).until(() -> !source.isConnected());
            proxy.restore();
        }
        publishing.join(WAIT.toMillis());
        await().atMost(WAIT).until(() -> recorder.appliedCount() == messages.size());

        assertThat(recorder.violations).isEmpty();
        for (int a = 0; a < 20; a++) {
            String id = "order-" + a;
            assertThat(recorder.applied("Order", id)).as(id).containsExactlyElementsOf(messages.stream()
                    .filter(m -> m.aggregateId().equals(id)).map(OutboxMessage::sequence).toList());
        }
        await().atMost(WAIT).until(() -> broker.ready(queue) == 0);
    }
}
