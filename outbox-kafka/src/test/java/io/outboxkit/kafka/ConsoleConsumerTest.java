package io.outboxkit.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.testing.ChildJvm;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** A foreign client, Kafka's own console consumer, reads what the publisher sent: key, value and headers as documented. */
class ConsoleConsumerTest {

    @Test
    void kafkas_console_consumer_shows_the_aggregate_id_as_key_the_payload_as_value_and_the_envelope_as_headers()
            throws Exception {
        String type = "Order-" + UUID.randomUUID().toString().substring(0, 8);
        String topic = TestKafka.createTopic("outbox.event." + type, 1);
        OutboxMessage sent = new OutboxMessage(UUID.randomUUID(), 7, type, "order-1", "OrderCreated",
                "{\"order_id\":\"order-1\",\"amount\":100.00}", Map.of("trace", "t-1"),
                Instant.parse("2026-11-26T15:00:00Z"), 1);
        try (KafkaPublisher publisher = KafkaPublisher.builder(TestKafka.bootstrapServers()).build()) {
            publisher.publish(sent);
        }

        try (ChildJvm console = ChildJvm.start("org.apache.kafka.tools.consumer.ConsoleConsumer", Map.of(), List.of(),
                "--bootstrap-server", TestKafka.bootstrapServers(), "--topic", topic, "--from-beginning",
                "--max-messages", "1", "--timeout-ms", "60000",
                "--formatter-property", "print.key=true", "--formatter-property", "print.headers=true")) {
            assertThat(console.waitFor(Duration.ofSeconds(90))).as(console::output).isZero();

            assertThat(console.output().lines()).as(console::output).contains(
                    "id:" + sent.id() + ",sequence:7,aggregate_type:" + type + ",aggregate_id:order-1,"
                            + "event_type:OrderCreated,created_at:2026-11-26T15:00:00Z,trace:t-1"
                            + "\torder-1\t{\"order_id\":\"order-1\",\"amount\":100.00}");
        } finally {
            TestKafka.deleteTopics(topic);
        }
    }
}
