package io.outboxkit.rabbitmq;

import java.time.Duration;
import java.util.List;

/** A {@link RabbitMqSource}'s settings, checked by its builder. */
record SourceOptions(AmqpUri uri, String queue, String exchange, List<String> bindingKeys, int prefetch, int batchSize,
                     int maxAttempts, Duration initialBackoff, Duration maxBackoff, Duration timeout,
                     Duration reconnectInterval, Duration closeTimeout, String deadLetterQueue,
                     boolean singleActiveConsumer) {

    SourceOptions {
        bindingKeys = List.copyOf(bindingKeys);
    }

    int timeoutMillis() {
        return (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    }
}
