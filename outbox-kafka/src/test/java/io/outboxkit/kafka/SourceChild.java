package io.outboxkit.kafka;

import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * A consumer process for the crash test: reads {@code args[1]} as group {@code args[2]} from the
 * broker at {@code args[0]}, prints {@code RECEIVED <id>} for each message it gets, and never returns
 * from its receiver, so nothing is acknowledged before it is killed.
 */
public final class SourceChild {

    private SourceChild() {
    }

    public static void main(String[] args) throws InterruptedException {
        KafkaSource source = KafkaSource.builder(args[0], args[2]).topics(List.of(args[1]))
                .deadLetterTopic(args[1] + ".dlt").property("session.timeout.ms", 6000).build();
        CountDownLatch never = new CountDownLatch(1);
        source.start(batch -> {
            batch.forEach(m -> System.out.println("RECEIVED " + m.id()));
            System.out.flush();
            never.await();
            return java.util.Map.of();
        });
        never.await();
    }
}
