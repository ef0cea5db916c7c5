package io.outboxkit.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.OutboxMessage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a source running for weeks writes to its log while its receiver fails messages now and then
 * (a flaky dependency): the library logs per message at DEBUG only (README, "The library logs per
 * message at DEBUG only"), as the RabbitMQ and NATS sources and the poller do: one WARN when
 * failures start, the rest at DEBUG. A log that takes a WARN line per message and attempt grows
 * with the traffic.
 */
class KafkaSourceLoggingTest {

    private static final Duration DEADLINE = Duration.ofSeconds(60);
    private static final int MESSAGES = 30;
    private static final int FAILURES_EACH = 2;

    private final String aggregateType = "Order-" + UUID.randomUUID().toString().substring(0, 8);
    private final String topic = "outbox.event." + aggregateType;
    private final String deadLetters = topic + ".dlt";
    private final String group = "consumer-" + UUID.randomUUID().toString().substring(0, 8);
    private KafkaPublisher publisher;
    private KafkaSource source;

    @BeforeEach
    void createTopics() throws Exception {
        TestKafka.createTopic(topic, 1);
        TestKafka.createTopic(deadLetters, 1);
        publisher = KafkaPublisher.builder(TestKafka.bootstrapServers()).build();
    }

    @AfterEach
    void cleanUp() {
        if (source != null) {
            source.close();
        }
        publisher.close();
        try (Admin admin = TestKafka.admin(TestKafka.bootstrapServers())) {
            admin.deleteConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            // a group that never committed may not exist
        }
        TestKafka.deleteTopics(topic, deadLetters);
    }

    @Test
    void messages_that_fail_an_attempt_or_two_do_not_each_write_a_warn_line() throws Exception {
        List<OutboxMessage> messages = new ArrayList<>();
        for (int i = 0; i < MESSAGES; i++) {
            messages.add(TestKafka.message(aggregateType, "order-" + i, 1));
        }
        assertThat(publisher.publishAll(messages)).isEmpty();
        Map<UUID, AtomicInteger> failed = new ConcurrentHashMap<>();
        RecordingReceiver flaky = new RecordingReceiver(m ->
                failed.computeIfAbsent(m.id(), id -> new AtomicInteger()).incrementAndGet() <= FAILURES_EACH
                        ? "the downstream service did not answer" : null);

        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            source = KafkaSource.builder(TestKafka.bootstrapServers(), group).topics(List.of(topic))
                    .deadLetterTopic(deadLetters).initialBackoff(Duration.ofMillis(20)).maxBackoff(Duration.ofMillis(50))
                    .property("session.timeout.ms", 6000).build();
            source.start(flaky);
            await().atMost(DEADLINE).until(() -> flaky.applied.size() == MESSAGES);
        } finally {
            System.setErr(original);
        }

        List<String> warnPerMessage = captured.toString(StandardCharsets.UTF_8).lines()
                .filter(line -> line.contains(" WARN ") && line.contains(SourceLoop.class.getName()))
                .filter(line -> messages.stream().anyMatch(m -> line.contains(m.id().toString())))
                .toList();
        assertThat(warnPerMessage)
                .as("WARN lines naming a message, for %d messages that each failed %d attempts (first: %s)", MESSAGES,
                        FAILURES_EACH, warnPerMessage.isEmpty() ? "none" : warnPerMessage.get(0))
                .hasSizeLessThanOrEqualTo(1);
    }
}
