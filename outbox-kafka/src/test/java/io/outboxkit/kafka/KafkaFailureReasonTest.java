package io.outboxkit.kafka;

import static io.outboxkit.kafka.TestKafka.message;
import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.testing.FreePorts;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The reason a failure of the publisher is counted under in
 * {@code outbox_delivery_failures_total{reason}}: a broker that cannot be reached is
 * {@code unavailable} (FailureReason: "connection refused, no route, unknown host, broker
 * disconnected"), not {@code refused}.
 */
class KafkaFailureReasonTest {

    @Test
    void a_message_not_sent_because_the_broker_never_answered_counts_as_unavailable() throws Exception {
        try (KafkaPublisher publisher = KafkaPublisher.builder("127.0.0.1:" + FreePorts.pick())
                .deliveryTimeout(Duration.ofSeconds(2)).maxBlock(Duration.ofSeconds(1)).build()) {
            OutboxMessage message = message("Order", "a", 1);

            Map<UUID, Exception> failures = publisher.publishAll(List.of(message));

            Exception failure = failures.get(message.id());
            assertThat(failure).isNotNull();
            assertThat(FailureReason.of(failure)).as("reason of \"%s\"", failure.getMessage())
                    .isEqualTo(FailureReason.UNAVAILABLE);
        }
    }
}
