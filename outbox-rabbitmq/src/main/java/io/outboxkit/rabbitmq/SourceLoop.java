package io.outboxkit.rabbitmq;

import com.rabbitmq.client.ConnectionFactory;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.BatchFailures;
import io.outboxkit.core.spi.BatchReceiver;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The thread of a {@link RabbitMqSource}: connects (again, after a loss), builds batches of at
 * most one message per aggregate from what is due, hands them to the receiver, and then
 * acknowledges, retries later, or dead-letters each message.
 */
final class SourceLoop implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(SourceLoop.class);
    /** The longest idle wait: the thread looks at its lanes and state at least this often. */
    private static final long IDLE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** The share of a retry's delay that is random, so that failed messages do not retry in step. */
    private static final double JITTER = 0.2;

    private final SourceOptions options;
    private final ConnectionFactory factory;
    private final BatchReceiver receiver;
    private final LinkedBlockingQueue<Delivery> inbound;
    private final Lanes lanes = new Lanes();
    private volatile SourceSession session;
    private volatile boolean running = true;
    private boolean failing;
    private boolean warnedDown;

    SourceLoop(SourceOptions options, ConnectionFactory factory, BatchReceiver receiver,
               LinkedBlockingQueue<Delivery> inbound, SourceSession first) {
        this.options = options;
        this.factory = factory;
        this.receiver = receiver;
        this.inbound = inbound;
        this.session = first;
    }

    boolean isConnected() {
        SourceSession current = session;
        return running && current != null && current.alive();
    }

    /** Ends the loop after the batch in the receiver's hands, if any, is acknowledged. */
    void stop() {
        running = false;
        inbound.add(Delivery.WAKE);
    }

    @Override
    public void run() {
        try {
            while (running) {
                SourceSession current = session;
                if (current == null || !current.alive()) {
                    reconnect();
                    continue;
                }
                try {
                    List<Held> batch = nextBatch(current);
                    if (!batch.isEmpty() && running) {
                        deliver(current, batch);
                    }
                } catch (IOException | RuntimeException e) {
                    // An ack, a dead letter or the channel failed: what is unacknowledged comes back after reconnecting.
                    LOG.warn("RabbitMQ source on queue '{}': {}; reconnecting", options.queue(), BrokerErrors.describe(e));
                    current.close();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // close() ran out of patience; the broker redelivers what was not acknowledged
        } catch (Error e) {
            LOG.error("RabbitMQ source on queue '{}' stopped: the receiver or the client threw an Error; what was not "
                    + "acknowledged goes back to the queue", options.queue(), e);
            throw e;
        } finally {
            running = false; // isConnected() tells a health check that this source receives no more
            SourceSession last = session;
            if (last != null) {
                last.close();
            }
        }
    }

    private void reconnect() throws InterruptedException {
        SourceSession lost = session;
        if (lost != null) {
            LOG.warn("RabbitMQ source on queue '{}' lost its connection to {} ({}); what it had not acknowledged goes "
                    + "back to the queue; reconnecting every {} ms", options.queue(), options.uri(), lost.lostBecause(),
                    options.reconnectInterval().toMillis());
            lost.close();
            session = null;
        }
        lanes.clear();
        failing = false;
        inbound.clear(); // deliveries of the lost session: the broker delivers them again
        try {
            session = SourceSession.open(options, factory, inbound);
            warnedDown = false;
            LOG.info("RabbitMQ source on queue '{}' connected to {}", options.queue(), options.uri());
        } catch (Exception e) {
            if (!warnedDown) {
                LOG.warn("RabbitMQ source on queue '{}' cannot connect to {}: {}; trying again every {} ms (further "
                        + "failures at DEBUG)", options.queue(), options.uri(), BrokerErrors.describe(e),
                        options.reconnectInterval().toMillis());
                warnedDown = true;
            } else {
                LOG.debug("RabbitMQ source on queue '{}' cannot connect to {}: {}", options.queue(), options.uri(),
                        BrokerErrors.describe(e));
            }
            inbound.poll(options.reconnectInterval().toNanos(), TimeUnit.NANOSECONDS); // stop() wakes it
        }
    }

    /** The due heads of the lanes, then what arrived, at most one message per aggregate. */
    private List<Held> nextBatch(SourceSession current) throws IOException, InterruptedException {
        List<Held> batch = new ArrayList<>();
        Set<Lanes.Key> inBatch = new HashSet<>();
        long now = System.nanoTime();
        lanes.takeDue(now, batch, inBatch, options.batchSize());
        long wait = batch.isEmpty() ? Math.min(IDLE_WAIT_NANOS, lanes.nanosUntilDue(now)) : 0;
        Delivery delivery = wait > 0 ? inbound.poll(wait, TimeUnit.NANOSECONDS) : inbound.poll();
        while (delivery != null && running) {
            if (delivery.session() == current) {
                accept(current, delivery, batch, inBatch);
            }
            if (batch.size() >= options.batchSize()) {
                break;
            }
            delivery = inbound.poll();
        }
        return batch;
    }

    private void accept(SourceSession current, Delivery delivery, List<Held> batch, Set<Lanes.Key> inBatch)
            throws IOException, InterruptedException {
        current.received(delivery);
        Held held;
        try {
            held = new Held(delivery, AmqpMessages.incoming(delivery.properties(), delivery.body(), 0));
        } catch (IllegalArgumentException e) {
            String error = "unreadable as an outbox message: " + e.getMessage();
            current.deadLetter(delivery, error, 0);
            current.ack(List.of(delivery.tag()));
            LOG.error("RabbitMQ source on queue '{}' dead-lettered message {} (routing key {}) to '{}': {}", options.queue(),
                    delivery.properties() == null ? null : delivery.properties().getMessageId(),
                    delivery.envelope().getRoutingKey(), options.deadLetterQueue(), error);
            BatchReceiver.tellDeadLettered(receiver, null, error);
            return;
        }
        if (inBatch.contains(held.key) || lanes.holds(held.key)) {
            lanes.append(held);
        } else {
            batch.add(held);
            inBatch.add(held.key);
        }
    }

    private void deliver(SourceSession current, List<Held> batch) throws IOException, InterruptedException {
        List<OutboxMessage> messages = new ArrayList<>(batch.size());
        batch.forEach(held -> messages.add(held.nextDelivery()));
        Map<UUID, ? extends Exception> failures;
        boolean wholeBatch = false; // says nothing about any one message (its database down, say): never dead-letters
        try {
            Map<UUID, ? extends Exception> reported = receiver.receive(List.copyOf(messages));
            if (reported == null) {
                failures = allFailed(batch, new IllegalStateException("the receiver returned null instead of its failures"));
                wholeBatch = true;
            } else {
                failures = BatchFailures.withCauses(reported, "the receiver");
            }
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            failures = allFailed(batch, e);
            wholeBatch = true;
        }
        if (!current.alive()) {
            return; // nothing can be acknowledged on a lost session: the broker delivers the batch again
        }
        List<Long> done = new ArrayList<>(batch.size());
        List<Held> dead = new ArrayList<>();
        long now = System.nanoTime();
        for (Held held : batch) {
            Exception failure = failures.get(held.message.id());
            if (failure == null) {
                done.add(held.delivery.tag());
                continue;
            }
            held.lastError = failure.getMessage() == null ? failure.getClass().getName() : failure.getMessage();
            if (!wholeBatch) {
                held.failures++;
            }
            if (held.failures >= options.maxAttempts()) {
                dead.add(held);
            } else {
                // A batch thrown on backs off by every hand-over so far (an outage backs off like a failing
                // message); the message's own failure by its own failures, not by the outage before it.
                held.notBefore = now + backoffNanos(wholeBatch ? held.deliveries : held.failures);
                lanes.putFirst(held);
            }
        }
        current.ack(done); // first, so that a dead letter that fails does not bring these back too
        for (Held held : dead) {
            current.deadLetter(held.delivery, held.lastError, held.failures);
            current.ack(List.of(held.delivery.tag()));
            LOG.error("RabbitMQ source on queue '{}' dead-lettered message {} ({} of {} {}) to '{}' after {} attempts: {}",
                    options.queue(), held.message.id(), held.message.eventType(), held.message.aggregateType(),
                    held.message.aggregateId(), options.deadLetterQueue(), held.failures, held.lastError);
            BatchReceiver.tellDeadLettered(receiver, held.message, held.lastError);
        }
        logOutcome(batch, failures, wholeBatch);
    }

    private static Map<UUID, Exception> allFailed(List<Held> batch, Exception error) {
        Map<UUID, Exception> failures = new HashMap<>();
        batch.forEach(held -> failures.put(held.message.id(), error));
        return failures;
    }

    /**
     * One WARN when messages start failing and one INFO once no failed message waits any more;
     * each failure in between at DEBUG.
     */
    private void logOutcome(List<Held> batch, Map<UUID, ? extends Exception> failures, boolean wholeBatch) {
        boolean anyFailed = batch.stream().anyMatch(held -> failures.containsKey(held.message.id()));
        if (anyFailed && !failing) {
            Held first = batch.stream().filter(held -> failures.containsKey(held.message.id())).findFirst().orElseThrow();
            if (wholeBatch) {
                LOG.warn("RabbitMQ source on queue '{}': the receiver failed a whole batch of {}: {}; it is handed over "
                        + "again with backoff, counting no attempt toward maxAttempts (further failures at DEBUG)",
                        options.queue(), batch.size(), first.lastError);
            } else {
                LOG.warn("RabbitMQ source on queue '{}': the receiver failed message {} (attempt {} of {}): {}; failed "
                        + "messages and the later ones of their aggregates are retried with backoff (further failures "
                        + "at DEBUG)", options.queue(), first.message.id(), first.failures, options.maxAttempts(),
                        first.lastError);
            }
        }
        boolean stillFailing = anyFailed || lanes.anyFailed();
        if (failing && !stillFailing) {
            LOG.info("RabbitMQ source on queue '{}': every failed message is now received or dead-lettered", options.queue());
        }
        failing = stillFailing;
        if (LOG.isDebugEnabled()) {
            for (Held held : batch) {
                if (failures.containsKey(held.message.id())) {
                    LOG.debug("message {} failed (delivery {}, {} of {} attempts counted{}): {}", held.message.id(),
                            held.deliveries, held.failures, options.maxAttempts(), wholeBatch ? ", a whole batch" : "",
                            held.lastError);
                } else {
                    LOG.debug("message {} received and acknowledged", held.message.id());
                }
            }
        }
    }

    /** About {@code initialBackoff * 2^(attempts-1)}, at most {@code maxBackoff}, less a random share. */
    private long backoffNanos(int attempts) {
        double exact = Math.min(options.maxBackoff().toNanos(),
                options.initialBackoff().toNanos() * Math.pow(2, Math.max(0, attempts - 1)));
        return (long) (exact * (1 - JITTER * ThreadLocalRandom.current().nextDouble()));
    }
}
