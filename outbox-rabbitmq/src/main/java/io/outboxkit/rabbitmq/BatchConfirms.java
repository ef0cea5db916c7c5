package io.outboxkit.rabbitmq;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.PublishException;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The outcome of each message of one batch, as the broker's answers settle them. The first
 * outcome of a message counts; a later one (a confirm after the batch gave up waiting) changes
 * nothing. Thread-safe.
 */
final class BatchConfirms {

    private final Map<UUID, Exception> failures = new ConcurrentHashMap<>();
    private final Set<UUID> settled = ConcurrentHashMap.newKeySet();
    private final CountDownLatch unsettled;

    BatchConfirms(int messages) {
        this.unsettled = new CountDownLatch(messages);
    }

    /** Records {@code message} as confirmed. */
    void confirmed(OutboxMessage message) {
        settle(message, null);
    }

    /**
     * Records {@code message} as failed, with the text stored as its last error; the failure is
     * counted under {@code reason} (nothing else in it tells an outage or a timeout from a refusal).
     */
    void failed(OutboxMessage message, FailureReason reason, String why) {
        settle(message, new PublishException(reason, why));
    }

    private void settle(OutboxMessage message, Exception failure) {
        if (settled.add(message.id())) {
            if (failure != null) {
                failures.put(message.id(), failure);
            }
            unsettled.countDown();
        }
    }

    /** Waits until every message is settled, at most {@code nanos}; whether they all are. */
    boolean await(long nanos) throws InterruptedException {
        return unsettled.await(Math.max(0, nanos), TimeUnit.NANOSECONDS);
    }

    /** Fails each of {@code messages} that is not settled yet, counted under {@code reason}. */
    void failUnsettled(Collection<OutboxMessage> messages, FailureReason reason, String why) {
        messages.forEach(message -> failed(message, reason, why));
    }

    /** The failed messages so far, with why. */
    Map<UUID, Exception> failures() {
        return new LinkedHashMap<>(failures);
    }
}
