package io.outboxkit.kafka;

import static io.outboxkit.kafka.TestKafka.headers;
import static io.outboxkit.kafka.TestKafka.message;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.devkafka.DevKafkaProcess;
import io.outboxkit.testing.FreePorts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The publisher while its broker is away: a private dev-kafka of this class's own, stopped,
 * killed with SIGKILL and restarted on the same data; never the shared one.
 */
class KafkaBrokerOutageTest {

    private static final Duration DEADLINE = Duration.ofSeconds(90);
    private static DevKafkaProcess broker;

    @BeforeAll
    static void startPrivateBroker() {
        broker = TestKafka.startPrivate(true);
    }

    @AfterAll
    static void killPrivateBroker() {
        broker.kill();
    }

    private static KafkaPublisher publisher(String bootstrapServers) {
        return KafkaPublisher.builder(bootstrapServers).deliveryTimeout(Duration.ofSeconds(2))
                .maxBlock(Duration.ofSeconds(1)).build();
    }

    @Test
    void a_broker_that_is_down_fails_the_batch_with_a_clear_error_within_the_timeout_and_a_later_batch_is_delivered()
            throws Exception {
        String type = "Order-" + UUID.randomUUID().toString().substring(0, 8);
        try (KafkaPublisher publisher = publisher(broker.bootstrapServers())) {
            assertThat(publisher.publishAll(List.of(message(type, "a", 1)))).isEmpty();

            assertThat(broker.stop()).isEqualTo(143);
            List<OutboxMessage> batch = List.of(message(type, "a", 2), message(type, "b", 3));
            long start = System.nanoTime();
            Map<UUID, Exception> failures = publisher.publishAll(batch);
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(failures).containsOnlyKeys(batch.get(0).id(), batch.get(1).id());
            // Whether the producer still knew the partition's leader decides which of the two bounds ended the wait.
            assertThat(failures.values()).allSatisfy(e -> assertThat(e.getMessage())
                    .startsWith("Kafka topic outbox.event." + type + ": not ")
                    .containsAnyOf("within the delivery timeout of 2000 ms", "metadata within 1000 ms (maxBlock)")
                    .contains("the broker at " + broker.bootstrapServers(), "down or unreachable"));
            assertThat(took).isLessThan(Duration.ofSeconds(8));
            assertThat(publisher.isConnected()).isFalse();

            broker.restart();
            await().atMost(DEADLINE).until(() -> publisher.publishAll(batch).isEmpty());
            assertThat(publisher.isConnected()).isTrue();
        }
    }

    @Test
    void a_broker_that_never_answered_fails_each_message_within_max_block_saying_so() throws Exception {
        try (KafkaPublisher publisher = publisher("127.0.0.1:" + FreePorts.pick())) {
            OutboxMessage message = message("Order", "a", 1);
            long start = System.nanoTime();
            Map<UUID, Exception> failures = publisher.publishAll(List.of(message));

            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(8));
            assertThat(failures.get(message.id())).hasMessageStartingWith("Kafka topic outbox.event.Order: not sent, the"
                    + " topic was not in the producer's metadata within 1000 ms (maxBlock): the broker at 127.0.0.1:");
            assertThat(failures.get(message.id())).hasMessageEndingWith(" did not answer within 2000 ms: is it down or"
                    + " unreachable?");
            assertThat(publisher.isConnected()).isFalse();
        }
    }

    @Test
    void nothing_reported_delivered_is_lost_when_the_broker_is_killed_mid_stream_and_the_failed_ones_succeed_on_retry()
            throws Exception {
        String type = "Order-" + UUID.randomUUID().toString().substring(0, 8);
        Set<UUID> confirmed = ConcurrentHashMap.newKeySet();
        List<OutboxMessage> failed = new CopyOnWriteArrayList<>();
        AtomicBoolean streaming = new AtomicBoolean(true);
        try (KafkaPublisher publisher = publisher(broker.bootstrapServers())) {
            Thread stream = new Thread(() -> {
                long seq = 0;
                for (int round = 0; round < 2_000 && streaming.get(); round++) {
                    List<OutboxMessage> batch = new ArrayList<>();
                    for (int i = 0; i < 20; i++) {
                        seq++;
                        batch.add(message(type, "agg-" + (seq % 13), seq));
                    }
                    try {
                        Map<UUID, Exception> failures = publisher.publishAll(batch);
                        batch.forEach(m -> (failures.containsKey(m.id()) ? (java.util.function.Consumer<OutboxMessage>)
                                failed::add : (java.util.function.Consumer<OutboxMessage>) x -> confirmed.add(x.id())).accept(m));
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "stream");
            stream.start();
            await().atMost(DEADLINE).until(() -> confirmed.size() >= 200);

            broker.kill();
            await().atMost(DEADLINE).until(() -> !failed.isEmpty());
            broker.restart();
            await().atMost(DEADLINE).until(() -> confirmed.size() >= 400 + failed.size());
            streaming.set(false);
            stream.join(DEADLINE.toMillis());

            List<OutboxMessage> retry = new ArrayList<>(failed);
            await().atMost(DEADLINE).until(() -> {
                Map<UUID, Exception> still = publisher.publishAll(retry);
                retry.removeIf(m -> !still.containsKey(m.id()));
                return retry.isEmpty();
            });
        }

        Set<UUID> everything = ConcurrentHashMap.newKeySet();
        everything.addAll(confirmed);
        failed.forEach(m -> everything.add(m.id()));
        Set<UUID> onTheTopic = TestKafka.read(broker.bootstrapServers(), "outbox.event." + type, everything.size(), DEADLINE)
                .stream().map(r -> UUID.fromString(headers(r).get("id"))).collect(Collectors.toSet());
        assertThat(onTheTopic).as("confirmed before, during and after the kill").containsAll(confirmed);
        assertThat(onTheTopic).as("failed during the kill, then retried").containsAll(
                failed.stream().map(OutboxMessage::id).toList());
    }
}
