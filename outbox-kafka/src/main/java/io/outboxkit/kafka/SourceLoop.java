package io.outboxkit.kafka;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.BatchFailures;
import io.outboxkit.core.spi.BatchReceiver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source's thread: polls, hands batches to the receiver, dead-letters, commits. Everything here
 * runs on that one thread (the Kafka consumer is not thread-safe), except {@link #stop()}.
 *
 * <p>Order per aggregate: each round hands the receiver at most one message per aggregate, the
 * first one not done, so a later message of an aggregate is handed only after the earlier one
 * succeeded or was dead-lettered; a failed one waits out its backoff and holds back its aggregate
 * meanwhile. A partition's offset is committed up to its first message not done; the messages done
 * beyond it are redelivered only after a crash or a rebalance, to an idempotent receiver. The ones
 * dead-lettered beyond it are not, as the receiver has no record of them: each commit names them in
 * its metadata ({@link DeadLetteredOffsets}), and whoever is assigned the partition next reads them
 * from there and skips them; a partition whose committed metadata could not be read yet is paused.
 * The commit after a dead letter goes at once, and the partition waits for it: a crash must not
 * leave a dead letter unnamed behind later messages of its aggregate applied meanwhile.
 */
final class SourceLoop implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(SourceLoop.class);
    private static final Duration IDLE_POLL = Duration.ofMillis(500);
    private static final Duration COMMIT_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration DEAD_LETTER_COMMIT_PAUSE_MIN = Duration.ofMillis(500);
    private static final Duration DEAD_LETTER_COMMIT_PAUSE_MAX = Duration.ofSeconds(5);

    private final KafkaSource.Settings settings;
    private final Consumer<byte[], byte[]> consumer;
    private final DeadLetters deadLetters;
    private final BatchReceiver receiver;
    private final Map<TopicPartition, PartitionQueue> queues = new HashMap<>();
    private final Map<TopicPartition, OffsetAndMetadata> committed = new HashMap<>();
    /** Assigned partitions whose committed metadata (the records dead-lettered beyond the offset) is not read yet: paused. */
    private final Set<TopicPartition> unread = new HashSet<>();
    /** Whether reading committed metadata failed since it last succeeded: warned once, then at DEBUG. */
    private boolean readFailing;
    /** Partitions with more dead-lettered offsets beyond their commit than its metadata holds: warned once. */
    private final Set<TopicPartition> overflowing = new HashSet<>();
    /** Partitions with a record dead-lettered since their last commit: committed at once, held back until then. */
    private final Set<TopicPartition> deadLetteredSinceCommit = new HashSet<>();
    private long nextDeadLetterCommitNanos = System.nanoTime();
    private Duration deadLetterCommitPause = DEAD_LETTER_COMMIT_PAUSE_MIN;
    /** The queues of the partitions the rebalance under way revoked: if it hands one back, its failed records go on. */
    private final Map<TopicPartition, PartitionQueue> revoked = new HashMap<>();
    private volatile boolean running = true;
    private int batchFailures;
    /** Whether a failed message waits for a retry: its first failure was logged at WARN, the others at DEBUG. */
    private boolean failingMessages;
    /** When {@link #commitAsync()} may send the next commit ({@link System#nanoTime()}). */
    private long nextCommitNanos = System.nanoTime();

    SourceLoop(KafkaSource.Settings settings, Consumer<byte[], byte[]> consumer, DeadLetters deadLetters,
               BatchReceiver receiver) {
        this.settings = settings;
        this.consumer = consumer;
        this.deadLetters = deadLetters;
        this.receiver = receiver;
    }

    /** Asks the loop to end after the batch in hand, which is finished and committed first. */
    void stop() {
        running = false;
        consumer.wakeup();
    }

    @Override
    public void run() {
        try {
            settings.subscribe(consumer, new Rebalance());
            while (running) {
                try {
                    pollOnce();
                } catch (WakeupException e) {
                    // stop() woke a poll; the loop's condition decides
                } catch (InterruptException e) {
                    Thread.currentThread().interrupt();
                    break;
                } catch (RuntimeException e) {
                    // A broker refusing this consumer (authorization, say) or a fault of ours: logged, retried, never a dead thread.
                    LOG.error("[{}] polling failed, retrying in {} ms: {}", settings.name(), IDLE_POLL.toMillis(),
                            e.getMessage(), e);
                    pause(IDLE_POLL);
                }
            }
        } finally {
            commitSync(queues.keySet());
            consumer.close(Duration.ofSeconds(5));
            LOG.info("[{}] stopped", settings.name());
        }
    }

    private void pollOnce() {
        if (!unread.isEmpty()) {
            readDeadLettered(Set.copyOf(unread));
        }
        applyPauses();
        long now = System.nanoTime();
        Duration wait = select(now).isEmpty() ? untilNextRetry(now) : Duration.ZERO;
        if (!wait.isZero() && !toCommit(queues.keySet(), true).isEmpty()) {
            wait = min(wait, Duration.ofNanos(Math.max(0, nextCommitNanos - now)));
        }
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(wait)) {
            TopicPartition partition = new TopicPartition(record.topic(), record.partition());
            if (!queues.computeIfAbsent(partition, p -> new PartitionQueue()).add(SourceRecord.of(record))) {
                LOG.debug("[{}] {}-{}@{} skipped: dead-lettered before (named in the committed metadata)",
                        settings.name(), record.topic(), record.partition(), record.offset());
            }
        }
        List<SourceRecord> batch = select(System.nanoTime());
        if (!batch.isEmpty()) {
            deliver(batch);
        }
        commitDeadLettered();
        commitAsync();
    }

    /** Stops fetching for a partition whose queue is full (a failed message holds it back); resumes it once it drains. */
    private void applyPauses() {
        Set<TopicPartition> full = new HashSet<>();
        queues.forEach((p, q) -> {
            if (q.size() >= settings.maxBatchSize() * 2) {
                full.add(p);
            }
        });
        Set<TopicPartition> paused = consumer.paused();
        Set<TopicPartition> resume = new HashSet<>(paused);
        resume.removeAll(full);
        resume.removeAll(unread);
        full.removeAll(paused);
        full.retainAll(consumer.assignment());
        resume.retainAll(consumer.assignment());
        if (!full.isEmpty()) {
            consumer.pause(full);
        }
        if (!resume.isEmpty()) {
            consumer.resume(resume);
        }
    }

    /** How long until a waiting message may be retried, at most the idle poll. */
    private Duration untilNextRetry(long now) {
        long next = now + IDLE_POLL.toNanos();
        for (PartitionQueue q : queues.values()) {
            for (SourceRecord r : q.pending()) {
                if (r.retryAtNanos > now) {
                    next = Math.min(next, r.retryAtNanos);
                }
            }
        }
        return Duration.ofNanos(next - now);
    }

    /** The first message not done of each aggregate, unless it waits for a retry; unreadable ones are dead-lettered here. */
    private List<SourceRecord> select(long now) {
        List<SourceRecord> batch = new ArrayList<>();
        Set<String> aggregates = new HashSet<>();
        for (Map.Entry<TopicPartition, PartitionQueue> entry : queues.entrySet()) {
            if (deadLetteredSinceCommit.contains(entry.getKey())) {
                continue; // not before the commit names its dead letter: see commitDeadLettered
            }
            PartitionQueue queue = entry.getValue();
            for (SourceRecord r : List.copyOf(queue.pending())) {
                if (r.retryAtNanos > now) {
                    if (r.message != null) {
                        aggregates.add(r.aggregate());
                    }
                    continue;
                }
                if (r.message == null) {
                    deadLetter(queue, r, r.unreadable);
                } else if (aggregates.add(r.aggregate()) && batch.size() < settings.maxBatchSize()) {
                    batch.add(r);
                }
            }
        }
        return batch;
    }

    private void deliver(List<SourceRecord> batch) {
        List<OutboxMessage> messages = new ArrayList<>(batch.size());
        batch.forEach(r -> messages.add(r.forDelivery()));
        Map<UUID, ? extends Exception> failures;
        try {
            Map<UUID, ? extends Exception> reported = receiver.receive(messages);
            if (reported == null) {
                // Says nothing about any one message: failed whole, as RabbitMqSource, NatsSource and the poller do.
                throw new IllegalStateException("the receiver returned null instead of its failures");
            }
            failures = BatchFailures.withCauses(reported, "the receiver");
            if (batchFailures > 0) {
                LOG.info("[{}] the receiver takes batches again, after {} failed in a row", settings.name(), batchFailures);
            }
            batchFailures = 0;
        } catch (Exception e) {
            batchFailures++;
            long retryAt = System.nanoTime() + backoff(batchFailures).toNanos();
            if (batchFailures == 1) {
                LOG.warn("[{}] the receiver failed a whole batch of {}, retrying it after a backoff (further failures "
                        + "in a row at DEBUG): {}", settings.name(), batch.size(), e.toString(), e);
            } else {
                LOG.debug("[{}] the receiver failed a whole batch of {} (failure {} in a row): {}", settings.name(),
                        batch.size(), batchFailures, e.toString());
            }
            batch.forEach(r -> r.retryAtNanos = retryAt);
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        for (SourceRecord r : batch) {
            PartitionQueue queue = queues.get(partition(r));
            Exception failure = failures.get(r.message.id());
            if (failure == null) {
                if (queue != null) {
                    queue.done(r);
                }
                LOG.debug("[{}] message {} done", settings.name(), r.message.id());
            } else {
                failed(queue, r, failure);
            }
        }
        if (failingMessages && !anyWaitsForRetry()) {
            failingMessages = false;
            LOG.info("[{}] every failed message is now received or dead-lettered", settings.name());
        }
    }

    private boolean anyWaitsForRetry() {
        for (PartitionQueue q : queues.values()) {
            for (SourceRecord r : q.pending()) {
                if (r.attempts > 0) {
                    return true;
                }
            }
        }
        return false;
    }

    private void failed(PartitionQueue queue, SourceRecord r, Exception failure) {
        r.attempts++;
        r.lastError = failure.getMessage() == null ? failure.toString() : failure.getMessage();
        if (r.attempts >= settings.maxAttempts()) {
            deadLetter(queue, r, "failed " + r.attempts + " times, last: " + r.lastError);
            return;
        }
        Duration delay = backoff(r.attempts);
        r.retryAtNanos = System.nanoTime() + delay.toNanos();
        if (failingMessages) {
            LOG.debug("[{}] message {} failed (attempt {} of {}), retrying in {} ms: {}", settings.name(), r.where(),
                    r.attempts, settings.maxAttempts(), delay.toMillis(), r.lastError);
        } else {
            failingMessages = true;
            LOG.warn("[{}] the receiver failed message {} (attempt {} of {}): {}; failed messages and the later ones of "
                    + "their aggregates are retried with backoff (further failures at DEBUG, INFO once none waits)",
                    settings.name(), r.where(), r.attempts, settings.maxAttempts(), r.lastError);
        }
    }

    private void deadLetter(PartitionQueue queue, SourceRecord r, String error) {
        try {
            deadLetters.send(r.record, error, r.attempts);
            if (queue != null) {
                queue.deadLettered(r);
                deadLetteredSinceCommit.add(partition(r));
            }
            LOG.error("[{}] {} sent to dead-letter topic {}: {}", settings.name(), r.where(), deadLetters.topic(), error);
            BatchReceiver.tellDeadLettered(receiver, r.message, error);
        } catch (KafkaException e) {
            Duration delay = backoff(Math.max(1, r.attempts));
            r.retryAtNanos = System.nanoTime() + delay.toNanos();
            LOG.error("[{}] {} could not be dead-lettered, keeping it and trying again in {} ms: {}", settings.name(),
                    r.where(), delay.toMillis(), e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            r.retryAtNanos = System.nanoTime() + IDLE_POLL.toNanos();
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** Exponential backoff with up to 20 % jitter, capped. */
    private Duration backoff(int failures) {
        long initial = settings.initialBackoff().toMillis();
        long exact = failures > 30 ? settings.maxBackoff().toMillis()
                : Math.min(settings.maxBackoff().toMillis(), initial << Math.max(0, failures - 1));
        return Duration.ofMillis(exact - (long) (exact * 0.2 * ThreadLocalRandom.current().nextDouble()));
    }

    /**
     * Commits each partition up to its first message not done, where that moved, at most once per
     * commit interval, without waiting for the broker's answer: the next poll does not wait a
     * round trip behind the commit of the batch before, and at a steady trickle of small batches
     * the broker is not asked to store offsets once per message. A commit that fails is sent
     * again with the next one; offsets not committed when the process dies mean redeliveries,
     * which the idempotent receiver skips.
     */
    private void commitAsync() {
        long now = System.nanoTime();
        if (now - nextCommitNanos < 0) {
            return; // the commit interval has not passed: this batch's offsets go with a later commit
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = toCommit(queues.keySet(), true);
        if (offsets.isEmpty()) {
            return;
        }
        nextCommitNanos = now + settings.commitInterval().toNanos();
        warnIfOverflowing(offsets);
        committed.putAll(offsets);
        consumer.commitAsync(offsets, (done, error) -> {
            if (error == null) {
                LOG.debug("[{}] committed {}", settings.name(), done);
                return;
            }
            // Forgotten, so that the next commit sends these partitions again (unless a later one was sent since).
            offsets.forEach(committed::remove);
            LOG.warn("[{}] committing offsets failed, trying again with the next commit (messages done since the last"
                    + " commit are redelivered after a restart or rebalance, and skipped by an idempotent receiver): {}",
                    settings.name(), error.getMessage());
        });
    }

    /**
     * Commits the partitions a record was dead-lettered in since their last commit at once, whatever
     * the commit interval, and waits for the broker's answer: until a commit names the record, a
     * crash or a lost partition would hand it to the receiver again, after the later messages of its
     * aggregate applied meanwhile. Such a partition is held back until its commit succeeded; a
     * failed one is tried again after a pause that doubles up to {@link #DEAD_LETTER_COMMIT_PAUSE_MAX}
     * (each try may wait out the commit timeout, which the other partitions would wait with). Dead
     * letters are rare: the round trip costs next to nothing.
     */
    private void commitDeadLettered() {
        if (deadLetteredSinceCommit.isEmpty() || System.nanoTime() - nextDeadLetterCommitNanos < 0) {
            return;
        }
        Set<TopicPartition> partitions = Set.copyOf(deadLetteredSinceCommit);
        if (commitSync(partitions)) {
            deadLetteredSinceCommit.removeAll(partitions);
            deadLetterCommitPause = DEAD_LETTER_COMMIT_PAUSE_MIN;
        } else {
            nextDeadLetterCommitNanos = System.nanoTime() + deadLetterCommitPause.toNanos();
            deadLetterCommitPause = min(deadLetterCommitPause.multipliedBy(2), DEAD_LETTER_COMMIT_PAUSE_MAX);
        }
    }

    /**
     * The offsets to commit of {@code partitions}, each with the records dead-lettered beyond it in
     * its metadata: all of them, or only those not sent before ({@code onlyMoved}).
     */
    private Map<TopicPartition, OffsetAndMetadata> toCommit(Collection<TopicPartition> partitions, boolean onlyMoved) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition p : partitions) {
            PartitionQueue q = queues.get(p);
            long offset = q == null ? -1 : q.committable();
            if (offset < 0) {
                continue;
            }
            OffsetAndMetadata commit = new OffsetAndMetadata(offset, q.commitMetadata().metadata());
            if (!onlyMoved || !commit.equals(committed.get(p))) {
                offsets.put(p, commit);
            }
        }
        return offsets;
    }

    /** Says when a commit being sent leaves out dead-lettered offsets its metadata has no room for. */
    private void warnIfOverflowing(Map<TopicPartition, OffsetAndMetadata> offsets) {
        offsets.forEach((p, o) -> {
            PartitionQueue q = queues.get(p);
            int leftOut = q == null ? 0 : q.commitMetadata().leftOut();
            if (leftOut == 0) {
                overflowing.remove(p);
            } else if (overflowing.add(p)) {
                LOG.warn("[{}] {} records dead-lettered in {} beyond its offset {} do not fit in the commit's metadata "
                        + "(further commits like it at DEBUG): after a restart or rebalance before the offset passes "
                        + "them, they are handed to the receiver again, possibly after later messages of their "
                        + "aggregates", settings.name(), leftOut, p, o.offset());
            } else {
                LOG.debug("[{}] {} records dead-lettered in {} beyond offset {} left out of the commit's metadata",
                        settings.name(), leftOut, p, o.offset());
            }
        });
    }

    /**
     * Reads the records dead-lettered beyond the committed offset of {@code partitions} from the
     * commit's metadata into their queues, and resumes them; a partition whose metadata cannot be
     * read now stays paused, and is tried again at the next poll: read without it, a dead-lettered
     * record would be handed to the receiver again.
     */
    private void readDeadLettered(Set<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> commits;
        try {
            commits = consumer.committed(partitions, COMMIT_TIMEOUT);
        } catch (WakeupException e) {
            pauseUnread(partitions); // stop() woke it: the loop's condition decides
            return;
        } catch (KafkaException e) {
            pauseUnread(partitions);
            if (!readFailing) {
                readFailing = true;
                LOG.warn("[{}] reading the committed offsets of {} failed, trying again at each poll (those partitions "
                        + "wait meanwhile; further failures at DEBUG): {}", settings.name(), partitions, e.getMessage());
            } else {
                LOG.debug("[{}] reading the committed offsets of {} failed: {}", settings.name(), partitions,
                        e.getMessage());
            }
            return;
        }
        if (readFailing) {
            readFailing = false;
            LOG.info("[{}] read the committed offsets of {}; those partitions go on", settings.name(), partitions);
        }
        for (TopicPartition p : partitions) {
            OffsetAndMetadata commit = commits.get(p);
            PartitionQueue queue = new PartitionQueue();
            if (commit != null) {
                try {
                    queue = new PartitionQueue(DeadLetteredOffsets.decode(commit.offset(), commit.metadata()));
                } catch (IllegalArgumentException e) {
                    LOG.warn("[{}] the committed metadata of {} is not a list of dead-lettered offsets ({}): ignored, so "
                            + "a record dead-lettered beyond offset {} is handed to the receiver again", settings.name(),
                            p, e.getMessage(), commit.offset());
                }
                goOnIfUntouched(p, queue, commit);
            }
            queues.put(p, queue);
            unread.remove(p);
        }
        consumer.resume(partitions);
    }

    /**
     * Lets {@code queue} go on with the attempts of the records the partition's queue before the
     * rebalance had failed, when its commit is still the one that queue left: a rebalance that
     * hands a partition back to this source (an eager one revokes them all, when a replica joins)
     * must not give a failing message {@code maxAttempts} anew. A commit that moved means another
     * consumer had the partition meanwhile: the attempts start again, as after a restart.
     */
    private void goOnIfUntouched(TopicPartition p, PartitionQueue queue, OffsetAndMetadata commit) {
        PartitionQueue before = revoked.remove(p);
        if (before != null && before.committable() == commit.offset()) {
            queue.goOnFrom(before);
        }
    }

    private void pauseUnread(Set<TopicPartition> partitions) {
        unread.addAll(partitions);
        consumer.pause(partitions);
    }

    /**
     * Commits and waits for the broker's answer: before partitions go elsewhere, after a dead letter,
     * and at the end. Every partition's offset is sent, also one sent before by {@link #commitAsync()},
     * whose answer may not have come. False when the commit failed.
     */
    private boolean commitSync(Collection<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> offsets = toCommit(partitions, false);
        if (offsets.isEmpty()) {
            return true;
        }
        warnIfOverflowing(offsets);
        for (int attempt = 1; attempt <= 2; attempt++) {
            try {
                consumer.commitSync(offsets, COMMIT_TIMEOUT);
                committed.putAll(offsets);
                LOG.debug("[{}] committed {}", settings.name(), offsets);
                return true;
            } catch (WakeupException e) {
                // stop() woke the consumer during a commit: the batch in hand is still acknowledged, once more
            } catch (KafkaException e) {
                LOG.warn("[{}] committing offsets failed (the messages done since the last commit will be redelivered"
                        + " after a restart or rebalance, and skipped by an idempotent receiver): {}", settings.name(),
                        e.getMessage());
                return false;
            }
        }
        return false;
    }

    private static TopicPartition partition(SourceRecord r) {
        return new TopicPartition(r.record.topic(), r.record.partition());
    }

    private void pause(Duration duration) {
        try {
            TimeUnit.MILLISECONDS.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    /**
     * Commits what was done before a partition goes to another consumer; forgets its queue, but for
     * the attempts of its failed records should the rebalance hand it back.
     */
    private final class Rebalance implements ConsumerRebalanceListener {

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            commitSync(partitions);
            partitions.forEach(p -> {
                if (queues.containsKey(p)) {
                    revoked.put(p, queues.get(p));
                }
            });
            forget(partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            revoked.keySet().removeAll(partitions);
            forget(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            revoked.keySet().retainAll(partitions); // the others went to other consumers: their attempts end here
            LOG.info("[{}] assigned {}", settings.name(), partitions);
            if (!partitions.isEmpty()) {
                readDeadLettered(Set.copyOf(partitions));
            }
        }

        private void forget(Collection<TopicPartition> partitions) {
            partitions.forEach(p -> {
                queues.remove(p);
                committed.remove(p);
                unread.remove(p);
                overflowing.remove(p);
                deadLetteredSinceCommit.remove(p);
            });
            if (!partitions.isEmpty()) {
                LOG.info("[{}] revoked {}", settings.name(), partitions);
            }
        }
    }
}
