package io.outboxkit.kafka;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;

/**
 * A consumer process for the kill test after a dead letter: reads {@code args[1]} as group
 * {@code args[2]} from the broker at {@code args[0]} with a commit interval of one minute and
 * maxAttempts 1, fails the message {@code args[3]} (so it is dead-lettered at once), applies the
 * rest and prints {@code APPLIED <id>} for each.
 */
public final class DeadLetterChild {

    private DeadLetterChild() {
    }

    public static void main(String[] args) throws InterruptedException {
        UUID failing = UUID.fromString(args[3]);
        KafkaSource source = KafkaSource.builder(args[0], args[2]).topics(List.of(args[1]))
                .deadLetterTopic(args[1] + ".dlt").maxAttempts(1).commitInterval(Duration.ofMinutes(1))
                .property("session.timeout.ms", 6000).build();
        source.start(batch -> {
            Map<UUID, Exception> failures = new HashMap<>();
            batch.forEach(m -> {
                if (m.id().equals(failing)) {
                    failures.put(m.id(), new IllegalStateException("not yet"));
                } else {
                    System.out.println("APPLIED " + m.id());
                }
            });
            System.out.flush();
            return failures;
        });
        new CountDownLatch(1).await();
    }
}
