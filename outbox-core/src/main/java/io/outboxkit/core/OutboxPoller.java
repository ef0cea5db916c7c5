package io.outboxkit.core;

import io.opentelemetry.api.OpenTelemetry;
import io.outboxkit.core.internal.Backoff;
import io.outboxkit.core.internal.NotificationListener;
import io.outboxkit.core.internal.OutboxStore;
import io.outboxkit.core.internal.PollingPace;
import io.outboxkit.core.internal.ProducerSpans;
import io.outboxkit.core.internal.SafeListener;
import io.outboxkit.core.internal.Tracing;
import io.outboxkit.core.internal.WaitAnnouncement;
import io.outboxkit.core.internal.Wakeup;
import io.outboxkit.core.spi.BatchFailures;
import io.outboxkit.core.spi.Causes;
import io.outboxkit.core.spi.Closing;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.core.spi.NotSentException;
import io.outboxkit.core.spi.OutboxListener;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers outbox messages through a {@link MessagePublisher}, at least once.
 *
 * <p>Each cycle claims a batch of due messages in one statement ({@code FOR UPDATE SKIP LOCKED}),
 * hands the batch to the publisher, then records the outcome: delivered messages become PUBLISHED
 * (or are deleted, with {@link Builder#deleteOnPublish(boolean)}); a failed one is retried after an
 * exponential backoff with jitter, and becomes DEAD after {@code maxAttempts}. By default the claim
 * is a committed lease and no transaction is open during delivery; {@link ClaimMode#LOCK} holds
 * row locks through delivery instead, writing each message once. A poller that dies anywhere
 * loses nothing: its claimed messages become claimable again when the lease ends (at once, for a
 * lock). Several pollers, in one process or many, may share a database. While its claims come
 * back full (a backlog), a claim may begin past messages it could not take a second before (held
 * back, waiting for a retry, or committed late), so as not to read again past every message
 * delivered since the last VACUUM; those are claimed by the claim that reads from the start,
 * which comes at least every 10 seconds and once the poller has caught up.
 *
 * <p>By default messages of one aggregate are delivered in write order: a message is not claimed
 * while an earlier one of its aggregate is undelivered (pending, leased, waiting for a retry, or
 * DEAD unless {@link Builder#deadMessagesBlockAggregate(boolean)} says otherwise). Other
 * aggregates proceed meanwhile.
 *
 * <p>After {@link #start()} the poller claims again at once after a full batch, or when a
 * message it delivered held back a later one of its aggregate. Otherwise it waits for the
 * outbox's NOTIFY, which commits send only while a poller has announced that it waits (schema
 * version 3). Before it waits with no announcement in force, a poller whose last claim found
 * messages claims again (a busy poller needs no notification, so its writers send none); once a
 * claim finds nothing, it announces, looks once more, and waits. While commits come a few
 * milliseconds apart (it is woken within 5 ms of starting to wait, or 5 ms per message it then
 * claims, three times in a row), it withdraws the announcement, so that the commits stop
 * notifying, and looks on its own after pauses of 1 to 4 ms, until it has found nothing for
 * 50 ms. A batch whose every message
 * failed (the receiving side is down, most likely) is followed by a wait too, as when nothing is
 * due (a commit's notification ends it), so that an outage spends one batch's attempts per wait
 * rather than a whole backlog's. When that batch was full (as many messages as a claim takes: a
 * backlog is waiting), one of its failures says the receiver was not reached or did not answer
 * ({@code unavailable} or {@code timeout}), and no other batch was delivered since it was claimed
 * (else it was slow, not the receiver down), no worker claims until a poll interval has passed, notifications or not,
 * and a full claim wakes no idle worker until a batch has delivered something again; a smaller
 * batch (at low traffic, a single message failing alone) holds off no other worker, and messages
 * the publisher reported not sent count for neither. With a batch size of 1 every batch is full. The
 * poll interval bounds every wait: a commit is found within it even if its wake-up were lost. With
 * {@link Builder#workers(int) several workers}, the cycles overlap: one worker claims or records
 * while another's batch is on the network (each worker is like a poller of its own: ordering per
 * aggregate holds between them as between pollers). {@link #close()} finishes the batches in
 * flight. Thread-safe.
 *
 * <p>A cycle that runs out of heap memory (payloads too large to hold a batch of, written before
 * {@link OutboxWriter}'s limit or by other means) is a poll error, logged once at WARN, after which
 * claims take half as many messages, down to one, until a lease has passed without it; then the
 * batch size again. A message that alone runs the publisher out of memory fails its attempt, which
 * counts toward DEAD. One whose claim alone runs out is logged at ERROR: under a lease it stays
 * claimed until the lease ends while other aggregates' messages are delivered; under
 * {@link ClaimMode#LOCK} it holds back every claim. Either way it needs a larger heap, or its removal.
 *
 * <p>What it does is told to the {@link OutboxListener}s given to the builder (metrics, a
 * console). With tracing on (an OpenTelemetry SDK installed, or given to the builder), each
 * message's delivery is a PRODUCER span, a child of the trace context recorded when the message
 * was written, and the publisher gets the message with that span's {@code traceparent} in its
 * headers. A failed attempt of a message written without a (valid) trace context records its
 * span's context with the failure, and the later attempts are its children, in its trace. An attempt
 * whose failure is not recorded (the database failed, its lease ran out, the relay died, or the
 * publisher did not send it) records nothing, and the next one starts a trace of its own.
 * Without it, no span is made and no header is written.
 */
public final class OutboxPoller implements AutoCloseable {

    /** Messages claimed per cycle unless set: 100. */
    public static final int DEFAULT_BATCH_SIZE = 100;
    /** How long an idle poller waits for a notification before it looks anyway: 1 second. */
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);
    /** How long a claim lasts before another poller may take the message over: 30 seconds. */
    public static final Duration DEFAULT_LEASE = Duration.ofSeconds(30);
    /** Deliveries tried before a message is DEAD: 10. */
    public static final int DEFAULT_MAX_ATTEMPTS = 10;
    /** The delay after the first failure: 1 second (doubling after each further one). */
    public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofSeconds(1);
    /** The longest delay between attempts: 5 minutes. */
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofMinutes(5);
    /** Worker threads, each claiming, delivering and recording its own batches: 1. */
    public static final int DEFAULT_WORKERS = 1;
    /** The share of each delay that is random, so failures do not retry in step: 0.2. */
    public static final double DEFAULT_JITTER = 0.2;
    /** How long one of the poller's statements may run before PostgreSQL cancels it: 30 seconds. */
    public static final Duration DEFAULT_STATEMENT_TIMEOUT = Duration.ofSeconds(30);

    /** The longest pause before looking again when a writer's transaction kept the poller from announcing it waits. */
    private static final long MAX_BUSY_PAUSE_MILLIS = 16;

    private static final Logger LOG = LoggerFactory.getLogger(OutboxPoller.class);
    /** Poll cycles aborted by a conflict in a row after which the poller says so at WARN. */
    static final int CONFLICTS_BEFORE_WARNING = 20;

    private final Jdbi jdbi;
    private final MessagePublisher publisher;
    private final PollerSettings config;
    private final OutboxStore store;
    private final Backoff backoff;
    private final OutboxListener observer;
    private final Tracing tracing;
    private final WaitAnnouncement announcement;
    private final PollingPace pace = new PollingPace();
    private final AtomicLong claimed = new AtomicLong();
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong dead = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong polls = new AtomicLong();
    private final AtomicBoolean deliveriesFailing = new AtomicBoolean();
    /** The most messages a claim takes: the batch size, or less for a while after a batch did not fit in the heap. */
    private final AtomicInteger claimLimit;
    /** Until when (System.nanoTime) a lowered claim limit stays lowered. */
    private volatile long lowLimitUntilNanos;
    /** Whether a single message's claim ran out of memory and no claim has succeeded since (its ERROR is logged once). */
    private volatile boolean singleClaimOutOfMemory;
    /** Whether every worker holds off claiming, the receiving side looking down. */
    private final OutageHoldOff holdOff;
    private final Object lifecycle = new Object();
    /** The threads of the current start, or of the last one once closed; null before the first start. */
    private volatile Run run;

    private OutboxPoller(Jdbi jdbi, MessagePublisher publisher, PollerSettings settings, OutboxListener listener,
                         Tracing tracing) {
        this.jdbi = jdbi;
        this.publisher = publisher;
        this.config = settings;
        this.store = new OutboxStore(jdbi, settings);
        this.backoff = new Backoff(settings.initialBackoff(), settings.maxBackoff(), settings.jitter());
        this.observer = listener;
        this.tracing = tracing;
        this.announcement = new WaitAnnouncement(jdbi, settings.names(), settings.pollInterval(), settings.name());
        this.claimLimit = new AtomicInteger(settings.batchSize());
        this.holdOff = new OutageHoldOff(settings.pollInterval());
    }

    /** A builder for a poller that reads through {@code jdbi} and delivers through {@code publisher}. */
    public static Builder builder(Jdbi jdbi, MessagePublisher publisher) {
        return new Builder(jdbi, publisher);
    }

    /** This poller's name: the lease owner recorded on the messages it claims, and its log prefix. */
    public String name() {
        return config.name();
    }

    /** The settings this poller was built with; they never change. */
    public PollerSettings settings() {
        return config;
    }

    /**
     * Starts delivering on a background thread per worker, plus one thread holding a LISTEN
     * connection. A poller that was closed may be started again (an application context stopped
     * and started, say).
     *
     * <p>The pool behind the {@link Jdbi} needs {@code workers} + 1 connections for the poller,
     * besides the application's own: the LISTEN thread keeps one for as long as the poller runs,
     * and each worker borrows one while it claims or records (under {@link ClaimMode#LOCK}, also
     * while its batch is delivered). With fewer, workers wait for each other; with a single one,
     * the poller never delivers. A poll that gets no connection while the LISTEN thread holds one
     * says so, and this figure, in its log line and to {@link OutboxListener#pollFailed}.
     *
     * @throws IllegalStateException when it was started and not closed since (even if
     *                               {@link #isRunning()} says false because a worker ended)
     */
    public void start() {
        synchronized (lifecycle) {
            if (run != null && run.active) {
                throw new IllegalStateException("poller " + config.name() + " was already started");
            }
            Run started = new Run(new Wakeup());
            started.listener = new NotificationListener(jdbi, config.names(), started.wakeup, config.name());
            started.listenerThread = new Thread(started.listener, "outbox-listen-" + config.name());
            started.listenerThread.setDaemon(true);
            List<Thread> threads = new java.util.ArrayList<>();
            for (int i = 0; i < config.workers(); i++) {
                Thread worker = new Thread(() -> runLoop(started),
                        "outbox-poll-" + config.name() + (config.workers() == 1 ? "" : "-" + i));
                worker.setUncaughtExceptionHandler((thread, e) -> LOG.error(
                        "[{}] worker {} ended: it delivers no more, and isRunning() is false until the poller is closed "
                        + "and started again", config.name(), thread.getName(), e));
                threads.add(worker);
            }
            started.workers = List.copyOf(threads);
            run = started;
            started.listenerThread.start();
            started.workers.forEach(Thread::start);
        }
        LOG.info("[{}] started on {} (channel {}): claimMode={}, batchSize={}, workers={}, pollInterval={}, lease={}, "
                + "maxAttempts={}, ordered={}, deleteOnPublish={}, statementTimeout={}", config.name(),
                config.names().qualifiedOutboxTable(), config.names().channel(), config.claimMode(), config.batchSize(),
                config.workers(), config.pollInterval(), config.lease(), config.maxAttempts(), config.orderedByAggregate(),
                config.deleteOnPublish(), config.statementTimeout());
    }

    /**
     * Stops: the batch in flight is delivered and recorded first, waiting up to the lease; after
     * that the worker is interrupted and its unrecorded messages are retried when their lease ends.
     * Returns once the threads have ended. Calling it again, or before a start, does nothing; called
     * while another close is under way (on a thread not the poller's), it returns once that close has
     * ended and, when that close came from a worker (as below), once that worker has recorded its
     * batch and ended, waiting up to the lease.
     *
     * <p>Called on one of the poller's own workers (from a publisher or a listener, to stop the
     * application, say), it neither waits for nor interrupts that worker: it stops and waits for
     * the others as above and returns, and the calling worker records its batch once the callback
     * returns, then ends. That record needs the database, so what the callback closes (a Spring
     * context, say) must leave the poller's pool open until then; if not, the batch is delivered
     * again. A close called meanwhile elsewhere (a JVM shutdown hook) returns only then (waiting up
     * to the lease for that worker), so its caller may close the pool. So a callback must not call
     * {@code System.exit} after this close: the worker would block in it while the shutdown hook's
     * close waits out the lease for that worker.
     */
    @Override
    public void close() {
        Run stopping;
        boolean underWay;
        synchronized (lifecycle) {
            stopping = run;
            if (stopping == null) {
                return;
            }
            underWay = !stopping.active;
            if (!underWay) {
                stopping.active = false;
                stopping.listener.stop();
            }
        }
        // A close under way is waited for, and the worker that ran it (it did not wait for itself)
        // as long as the first close waits for the others: the lease.
        stopping.closing.close(!underWay, stopping.workers, config.lease(), () -> stop(stopping));
    }

    /** Stops the threads of a run that was active, as {@link #close()} says. */
    private void stop(Run stopping) {
        stopping.wakeup.release();
        // A worker cannot wait for itself: it would wait out the lease, then interrupt its own
        // record of the batch it is delivering.
        List<Thread> others = stopping.workers.stream().filter(worker -> worker != Thread.currentThread()).toList();
        try {
            long deadline = System.nanoTime() + config.lease().toNanos();
            for (Thread worker : others) {
                worker.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            }
            for (Thread worker : others) {
                if (worker.isAlive()) {
                    LOG.warn("[{}] batch still in flight after {}; interrupting it (its messages will be retried)",
                            config.name(), config.lease());
                    worker.interrupt();
                    worker.join(TimeUnit.SECONDS.toMillis(5));
                }
            }
            stopping.listenerThread.join(TimeUnit.SECONDS.toMillis(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (others.size() < stopping.workers.size()) {
            LOG.info("[{}] stopped but for {}, which called close() and ends once it has recorded its batch: {}",
                    config.name(), Thread.currentThread().getName(), stats());
        } else {
            LOG.info("[{}] stopped: {}", config.name(), stats());
        }
    }

    /**
     * Whether the poller delivers: started, not closed, and none of its worker threads has ended.
     * A worker ends early only on what its loop does not survive (an {@link OutOfMemoryError} a
     * listener throws, say, which is logged); the poller then stays started, so that
     * {@link #close()} still stops its other threads, but this says false, as a health check should.
     */
    public boolean isRunning() {
        Run current = run;
        return current != null && current.active
                && current.workers.stream().noneMatch(worker -> worker.getState() == Thread.State.TERMINATED);
    }

    /**
     * One start's threads and wake-up signal: a worker of an earlier start, still finishing its
     * batch after a close, checks its own run, so that a new start cannot revive it.
     */
    private static final class Run {
        final Wakeup wakeup;
        volatile boolean active = true;
        /** The close that stops this run, which a close called meanwhile waits for. */
        final Closing closing = new Closing();
        List<Thread> workers;
        NotificationListener listener;
        Thread listenerThread;

        Run(Wakeup wakeup) {
            this.wakeup = wakeup;
        }
    }

    /** The counters so far. */
    public PollerStats stats() {
        return new PollerStats(claimed.get(), delivered.get(), failed.get(), dead.get(), errors.get(), polls.get());
    }

    /**
     * Runs one cycle on the calling thread: claim a batch, publish it, record the outcome. Useful
     * for tools and tests; {@link #start()} runs this in a loop.
     *
     * @return how many messages were claimed (0 when none was due)
     * @throws OutboxException when the database failed (claimed messages are retried after the lease)
     */
    public int pollOnce() {
        return poll().claimed();
    }

    /** This poller's announcements that it waits for a notification (for tests). */
    WaitAnnouncement waitAnnouncement() {
        return announcement;
    }

    /**
     * One cycle: how many messages it claimed, whether more may be due at once, and whether every
     * claimed message failed (the receiving side is probably down).
     */
    private record Cycle(int claimed, boolean moreDue, boolean allFailed) {
        static final Cycle NOTHING = new Cycle(0, false, false);
    }

    private Cycle poll() {
        polls.incrementAndGet();
        int limit = claimLimit.get();
        try {
            return poll(limit);
        } catch (OutOfMemoryError e) {
            return outOfMemory(limit, e);
        } catch (OutboxException e) {
            if (Causes.find(e, OutOfMemoryError.class).isPresent()) {
                return outOfMemory(limit, e); // the driver ran out reading the rows, and says so
            }
            throw e;
        }
    }

    /**
     * Gives {@code claim}'s messages back uncounted after the publisher threw {@code error}, a
     * fault of the deployment (or of the heap) rather than of the messages: a lease claim's attempt
     * would otherwise be spent at each lease while it lasts, and the first real failure after it
     * would be the message's last.
     */
    private static void giveBack(OutboxStore.Claim claim, Error error) {
        try {
            claim.giveBack(claim.messages().stream().map(OutboxMessage::id).toList());
        } catch (RuntimeException e) {
            error.addSuppressed(e); // the messages stay leased until the lease ends, as before
        }
    }

    private Cycle poll(int limit) {
        long beforeClaim = holdOff.beforeClaim();
        long claiming = System.nanoTime();
        try (OutboxStore.Claim claim = store.claim(limit)) {
            List<OutboxMessage> batch = claim.messages();
            if (limit < config.batchSize() || singleClaimOutOfMemory) {
                claimSucceeded(limit);
            }
            if (batch.isEmpty()) {
                return Cycle.NOTHING;
            }
            observer.claimed(batch.size(), Duration.ofNanos(System.nanoTime() - claiming));
            claimed.addAndGet(batch.size());
            Run current = run;
            if (batch.size() == limit && config.workers() > 1 && current != null && !holdOff.receiverDown()) {
                current.wakeup.signal(); // a full batch: more is probably due, for an idle worker to claim meanwhile
            }
            Map<UUID, Exception> failures;
            ProducerSpans spans = ProducerSpans.start(tracing, publisher, batch);
            try {
                Map<UUID, Exception> reported = publisher.publishAll(spans.messages());
                if (reported == null) {
                    throw new IllegalStateException(publisher.getClass().getName() + ".publishAll returned null");
                }
                failures = BatchFailures.withCauses(reported, publisher.getClass().getName() + ".publishAll");
            } catch (InterruptedException e) {
                // Shutting down hard: leave the outcome unrecorded; the batch is retried when the
                // claim is released (a lock at once, a lease when it ends).
                spans.endAll("interrupted before the outcome was known");
                Thread.currentThread().interrupt();
                return new Cycle(batch.size(), false, false);
            } catch (Exception e) {
                failures = OutboxStore.allFailed(batch, e);
            } catch (StackOverflowError | AssertionError e) {
                // The publisher's own failure on these messages (a payload nested too deep): a failed
                // attempt, counted toward DEAD like any other, rather than a poll error whose batch
                // comes back forever. (A LinkageError, a class its client lacks, stays a poll error: a
                // fault of the deployment, which must not spend every message's attempts.)
                failures = OutboxStore.allFailed(batch, new IllegalStateException("the publisher threw " + e, e));
            } catch (OutOfMemoryError e) {
                if (batch.size() > 1) {
                    spans.endAll("out of heap memory: claimed again in smaller batches");
                    giveBack(claim, e);
                    throw e; // the batch, not one message, may be too large: claimed again in smaller batches
                }
                // Alone and still too large for the heap: a failed attempt, counted toward DEAD, not a
                // poll error whose message comes back forever.
                failures = OutboxStore.allFailed(batch, new IllegalStateException("the relay ran out of heap memory "
                        + "delivering this message alone (a payload of " + batch.get(0).payload().length()
                        + " characters): " + e, e));
            } catch (Error e) {
                spans.endAll("the publisher threw " + e); // a poll error, its batch delivered again
                giveBack(claim, e);
                throw e;
            }
            Instant confirmed = Instant.now();
            spans.end(failures);
            // What the publisher reports tells of the receiving side before the outcome is recorded,
            // and whether or not it is: a batch the receiver took shows it up (to a slow batch of
            // another worker failing meanwhile) even when the database then fails to record it.
            // Only the batch's own messages count: an id of none of them, which the record ignores,
            // must not make up for a message that was delivered.
            List<Exception> batchFailures = new ArrayList<>(failures.size());
            for (OutboxMessage m : batch) {
                Exception failure = failures.get(m.id());
                if (failure != null) {
                    batchFailures.add(failure);
                }
            }
            // A batch that failed whole most likely says the receiving side is down: its worker
            // waits, as when nothing is due, rather than claim the next batch at once (and every
            // worker does, as OutageHoldOff says, when it is evidence of an outage that would spend
            // an attempt of every message of a backlog in seconds).
            boolean allFailed = batchFailures.size() == batch.size();
            if (allFailed) {
                holdOff.failedWhole(batch.size() == limit, batchFailures, beforeClaim, System.nanoTime());
            } else {
                holdOff.delivered();
            }
            boolean released = record(claim, spans, failures, confirmed, limit);
            return new Cycle(batch.size(), !allFailed && (batch.size() == limit || released), allFailed);
        }
    }

    /**
     * A cycle that ran out of heap memory, most likely on payloads too large to hold a batch of:
     * later claims take half as many, down to one, until a lease has passed without it (the
     * messages it claimed, if its claim committed, come back when their lease ends, to be claimed
     * at the smaller size). A poll error, counted and told to the listeners.
     */
    private Cycle outOfMemory(int limit, Throwable e) {
        errors.incrementAndGet();
        observer.pollFailed(e instanceof Exception failure ? failure : new IllegalStateException(e));
        lowLimitUntilNanos = System.nanoTime() + config.lease().toNanos() + config.pollInterval().toNanos();
        if (limit > 1) {
            int smaller = Math.max(1, limit / 2);
            // Workers that ran out at once, on the same heap, halve it once between them.
            if (claimLimit.getAndAccumulate(smaller, Math::min) > smaller) {
                LOG.warn("[{}] a batch of up to {} messages did not fit in the heap ({}): claiming at most {} per batch "
                        + "until one lease ({}) passes without it; payloads may be too large for this heap", config.name(),
                        limit, e, smaller, config.lease());
            }
            return new Cycle(0, true, false); // claim again at once, fewer
        }
        if (!singleClaimOutOfMemory) {
            singleClaimOutOfMemory = true;
            LOG.error("[{}] a claim of a single message did not fit in the heap ({}): the next due message's payload is "
                    + "too large for this relay. Under a lease it stays claimed until the lease ends, and is claimed "
                    + "again then (other aggregates' messages are delivered meanwhile, later ones of its aggregate wait); "
                    + "under claimMode LOCK it holds back every claim. Give the relay a larger heap, or remove the message "
                    + "from the outbox (further failures at DEBUG until a claim succeeds)", config.name(), e);
        } else {
            LOG.debug("[{}] a claim of a single message did not fit in the heap again ({})", config.name(), e.toString());
        }
        return Cycle.NOTHING;
    }

    /** A claim of {@code limit} succeeded: after a lowered limit's lease has passed, the batch size applies again. */
    private void claimSucceeded(int limit) {
        singleClaimOutOfMemory = false;
        if (limit < config.batchSize() && System.nanoTime() - lowLimitUntilNanos >= 0
                && claimLimit.compareAndSet(limit, config.batchSize())) {
            LOG.info("[{}] claims fit in the heap again: claiming up to {} per batch", config.name(), config.batchSize());
        }
    }

    /**
     * Records the outcome; returns whether it may have made messages due that no notification
     * announces: later messages of an aggregate, held back by one delivered now (or by one now
     * DEAD, when dead messages do not hold their aggregate back). A failure records, in the same
     * update, the trace context {@code spans} give for its message, if any.
     */
    private boolean record(OutboxStore.Claim claim, ProducerSpans spans, Map<UUID, Exception> failures,
                           Instant confirmed, int limit) {
        List<OutboxMessage> batch = claim.messages();
        List<OutboxMessage> deliveredMessages = failures.isEmpty() ? batch
                : batch.stream().filter(m -> !failures.containsKey(m.id())).toList();
        List<UUID> deliveredIds = deliveredMessages.stream().map(OutboxMessage::id).toList();
        // A message its publisher never sent is neither: it is given back, uncounted.
        List<UUID> notSent = new ArrayList<>();
        List<OutboxStore.Failure> recorded = new ArrayList<>();
        for (OutboxMessage m : batch) {
            Exception cause = failures.get(m.id());
            if (cause instanceof NotSentException) {
                notSent.add(m.id());
            } else if (cause != null) {
                // With the failure, the attempt's trace context when the message had none: its retries join that trace.
                recorded.add(new OutboxStore.Failure(m, cause, backoff.delayAfter(m.attempts()), spans.contextToRecord(m)));
            }
        }
        // After a full batch the worker claims again anyway: no need to ask whether messages were held back.
        boolean askLater = config.orderedByAggregate() && batch.size() < limit;
        OutboxStore.Recorded outcome = claim.record(deliveredIds, recorded, askLater);
        if (!notSent.isEmpty()) {
            try {
                claim.giveBack(notSent);
                LOG.debug("[{}] not sent by the publisher, given back uncounted: {}", config.name(), notSent);
            } catch (RuntimeException e) {
                // The outcome above is recorded; these stay claimed until their lease ends, no more.
                LOG.debug("[{}] could not give back the messages the publisher did not send {}: {}", config.name(),
                        notSent, e.getMessage());
            }
        }
        List<UUID> nowDead = outcome.dead();
        List<OutboxMessage> published = deliveredMessages;
        if (outcome.published().size() < deliveredMessages.size()) {
            // Requeued by an operator, or recorded first by a claim that took it after the lease ran out.
            Set<UUID> marked = new HashSet<>(outcome.published());
            published = deliveredMessages.stream().filter(m -> marked.contains(m.id())).toList();
            LOG.debug("[{}] delivered, but no longer claimed when recorded (requeued, or recorded by another claim): {}",
                    config.name(),
                    deliveredMessages.stream().map(OutboxMessage::id).filter(id -> !marked.contains(id)).toList());
        }
        delivered.addAndGet(published.size());
        failed.addAndGet(recorded.size());
        dead.addAndGet(nowDead.size());
        logOutcome(deliveredIds, recorded, nowDead);
        tell(published, recorded, nowDead, confirmed);
        return config.orderedByAggregate() && (outcome.laterPending() || (!nowDead.isEmpty() && !config.deadMessagesBlockAggregate()));
    }

    /** Tells the listeners what became of each message of a recorded batch. */
    private void tell(List<OutboxMessage> deliveredMessages, List<OutboxStore.Failure> recorded, List<UUID> nowDead,
                      Instant confirmed) {
        if (!SafeListener.isActive(observer)) {
            return;
        }
        if (!deliveredMessages.isEmpty()) {
            observer.deliveredBatch(deliveredMessages, confirmed);
        }
        HashSet<UUID> gone = nowDead.isEmpty() ? null : new HashSet<>(nowDead);
        for (OutboxStore.Failure f : recorded) {
            observer.failed(f.message(), FailureReason.of(f.cause()), f.cause());
            if (gone != null && gone.contains(f.message().id())) {
                observer.dead(f.message());
            }
        }
    }

    /**
     * A message gone DEAD is an error of its own; other failures are per-message lines (DEBUG), with
     * one WARN when deliveries start failing and one INFO when they succeed again, so an outage of
     * the receiving side writes two lines, not one per message and attempt.
     */
    private void logOutcome(List<UUID> deliveredIds, List<OutboxStore.Failure> failures, List<UUID> nowDead) {
        for (OutboxStore.Failure f : failures) {
            OutboxMessage m = f.message();
            if (nowDead.contains(m.id())) {
                LOG.error("[{}] message {} ({} of {} {}) is DEAD after {} attempts: {}", config.name(), m.id(),
                        m.eventType(), m.aggregateType(), m.aggregateId(), m.attempts(), f.error());
            } else if (deliveriesFailing.compareAndSet(false, true)) {
                LOG.warn("[{}] deliveries are failing: attempt {} of message {} failed, retry in {} ms: {} "
                        + "(further failures at DEBUG until a delivery succeeds)", config.name(), m.attempts(), m.id(),
                        f.delay().toMillis(), f.error());
            } else {
                LOG.debug("[{}] attempt {} of message {} failed, retry in {} ms: {}", config.name(), m.attempts(),
                        m.id(), f.delay().toMillis(), f.error());
            }
        }
        if (!deliveredIds.isEmpty()) {
            if (failures.isEmpty() && deliveriesFailing.compareAndSet(true, false)) {
                LOG.info("[{}] deliveries succeed again", config.name());
            }
            if (LOG.isDebugEnabled()) {
                LOG.debug("[{}] delivered {}", config.name(), deliveredIds);
            }
        }
    }

    private void runLoop(Run run) {
        boolean healthy = true;
        boolean starvedToldOf = false;
        boolean announcing = true;
        long busyPauseMillis = 0;
        PollingPace.Looks looks = new PollingPace.Looks();
        long notifiedWaitNanos = -1; // how long the last wait for a notification lasted, until the claim after it
        long notifiedWaitMillis = 0;
        int conflicts = 0; // cycles in a row aborted by a deadlock or a serialization failure
        String unexpected = null; // the last cycle's unexpected failure, while cycles keep failing
        while (run.active) {
            long heldOffFor = holdOff.holdOffMillis(System.nanoTime());
            if (heldOffFor > 0) {
                // A worker's batch failed whole: this one waits out the same poll interval (a wake-up
                // meanwhile, from a commit or another worker, ends the pause but not the wait).
                if (pause(run, heldOffFor)) {
                    return;
                }
                continue;
            }
            Cycle cycle = Cycle.NOTHING;
            try {
                cycle = poll();
                conflicts = 0;
                if (!healthy) {
                    LOG.info("[{}] {}; delivering", config.name(),
                            unexpected == null ? "database reachable again" : "poll cycles succeed again");
                }
                healthy = true;
                unexpected = null;
                starvedToldOf = false;
            } catch (OutboxException e) {
                if (Conflicts.abortedByConflict(e)) {
                    // Another transaction's timing, not an outage: the next cycle comes after a short
                    // random pause (growing while conflicts repeat), neither logged as a database
                    // failure nor waiting out the poll interval.
                    errors.incrementAndGet();
                    observer.pollFailed(e);
                    conflicts++;
                    if (conflicts == CONFLICTS_BEFORE_WARNING) {
                        // Timing does not repeat this often: something keeps conflicting (a trigger, a lock order).
                        LOG.warn("[{}] {} poll cycles in a row aborted by a conflict with another transaction, the last: "
                                + "{}; retrying (further ones at DEBUG)", config.name(), conflicts, e.getMessage());
                    } else {
                        LOG.debug("[{}] poll cycle aborted by a conflict with another transaction ({}); retrying",
                                config.name(), e.getMessage());
                    }
                    long bound = Math.min(1L << Math.min(conflicts, 10), config.pollInterval().toMillis());
                    if (pause(run, ThreadLocalRandom.current().nextLong(1, Math.max(1, bound) + 1))) {
                        return;
                    }
                    continue;
                }
                conflicts = 0;
                OutboxException failure = explainStarvation(e, run);
                boolean starved = failure != e;
                errors.incrementAndGet();
                observer.pollFailed(failure);
                if (healthy || (starved && !starvedToldOf)) {
                    LOG.warn("[{}] poll failed ({}); retrying every {}", config.name(), failure.getMessage(),
                            config.pollInterval());
                }
                starvedToldOf |= starved;
                healthy = false;
                unexpected = null;
            } catch (RuntimeException | Error e) {
                // A bug or a publisher gone wrong must not silently end delivery: log it and go on;
                // the batch's messages are claimed again (at once when given back, else when their
                // lease ends). A broken deployment fails the same way each cycle: logged in full once.
                conflicts = 0;
                errors.incrementAndGet();
                observer.pollFailed(e instanceof Exception failure ? failure : new IllegalStateException(e));
                String failure = e.toString();
                if (failure.equals(unexpected)) {
                    LOG.debug("[{}] poll cycle failed again the same way: {}", config.name(), failure);
                } else {
                    LOG.error("[{}] poll cycle failed unexpectedly; retrying after {} (the same failure again at DEBUG)",
                            config.name(), config.pollInterval(), e);
                }
                unexpected = failure;
                healthy = false;
            }
            if (Thread.currentThread().isInterrupted()) {
                return;
            }
            if (cycle.claimed() > 0) {
                looks.found();
            }
            if (notifiedWaitNanos >= 0) {
                if (run.active && pace.woke(notifiedWaitNanos, notifiedWaitMillis, cycle.claimed())) {
                    LOG.debug("[{}] commits come faster than one every {} ms: looking on its own instead of waiting "
                            + "for notifications", config.name(), PollingPace.QUICK_WAKE_MILLIS);
                    if (!announcement.withdraw()) {
                        pace.stopPolling(); // commits still notify: waiting for them costs less than looking
                    }
                }
                notifiedWaitNanos = -1;
            }
            if (!run.active || cycle.moreDue()) {
                continue;
            }
            long waitMillis = config.pollInterval().toMillis();
            if (healthy && pace.polling()) {
                long pauseMillis = cycle.allFailed() ? -1 : looks.pauseAfter(cycle.claimed(), System.nanoTime());
                if (pauseMillis >= 0) {
                    if (pause(run, pauseMillis)) {
                        return;
                    }
                    continue;
                }
                // Nothing found for a while, or the receiving side is down: wait as when nothing is due.
                pace.stopPolling();
                LOG.debug("[{}] {}: waiting for notifications again", config.name(),
                        cycle.allFailed() ? "a whole batch failed" : "nothing found for " + PollingPace.IDLE_MILLIS + " ms");
            }
            looks.reset();
            boolean forNotification = false;
            if (healthy) {
                WaitAnnouncement.Outcome announced = WaitAnnouncement.Outcome.IN_FORCE;
                if (cycle.claimed() > 0 && !cycle.allFailed() && !announcement.inForce()) {
                    continue; // busy: more may have come meanwhile, and no commit notifies until a poller waits
                }
                try {
                    announced = announcement.beforeWaiting();
                    announcing = true;
                } catch (OutboxException e) {
                    errors.incrementAndGet();
                    observer.pollFailed(e);
                    if (announcing) {
                        LOG.warn("[{}] {}; commits do not wake it: polling every {}", config.name(), e.getMessage(),
                                config.pollInterval());
                    }
                    announcing = false;
                }
                if (announced == WaitAnnouncement.Outcome.ANNOUNCED) {
                    busyPauseMillis = 0;
                    continue; // a commit between the last claim and the announcement did not notify: look once more
                }
                if (announced == WaitAnnouncement.Outcome.WRITER_BUSY) {
                    // A writer is between its insert and its commit: look again soon, not at once.
                    busyPauseMillis = Math.min(Math.max(1, busyPauseMillis * 2), Math.min(MAX_BUSY_PAUSE_MILLIS, waitMillis));
                    waitMillis = busyPauseMillis;
                } else {
                    busyPauseMillis = 0;
                    forNotification = announcing;
                }
            }
            long waiting = System.nanoTime();
            if (pause(run, waitMillis)) {
                return;
            }
            if (forNotification) {
                notifiedWaitNanos = System.nanoTime() - waiting;
                notifiedWaitMillis = waitMillis;
            }
        }
    }

    /**
     * The connections this poller needs from its pool to deliver: one per worker (while it claims
     * or records; under {@link ClaimMode#LOCK}, also while it delivers) and the one its LISTEN
     * thread keeps for as long as it runs.
     */
    private int connectionsNeeded() {
        return config.workers() + 1;
    }

    /**
     * {@code e} with what to do about it when the pool gave no connection while the LISTEN thread
     * holds one: the pool is most likely too small for the poller, which then never delivers, and
     * the pool's own message ("Connection is not available") does not say why.
     */
    private OutboxException explainStarvation(OutboxException e, Run run) {
        if (!run.listener.holdsConnection() || Causes.find(e, ConnectionException.class).isEmpty()) {
            return e;
        }
        return new OutboxException(e.getMessage() + ". The pool gave no connection while this poller's LISTEN thread "
                + "holds one of the pool's connections for as long as the poller runs. If the pool is exhausted (not the "
                + "database unreachable), give it at least " + connectionsNeeded() + " connections for this poller ("
                + config.workers() + " worker(s) + 1 for LISTEN) besides what the application itself uses", e);
    }

    /** Waits {@code millis} or until woken; returns true when the poller is to stop (interrupted). */
    private static boolean pause(Run run, long millis) {
        try {
            run.wakeup.await(millis);
            return false;
        } catch (InterruptedException e) {
            return true;
        }
    }

    /**
     * Configures an {@link OutboxPoller}. Every option has a named default; {@link #build()} copies
     * and checks them (naming the option at fault and its allowed range) into the poller's
     * {@link PollerSettings}, so that a setter called afterwards changes only the pollers built
     * later. Not thread-safe; the built poller is.
     */
    public static final class Builder {
        private final Jdbi jdbi;
        private final MessagePublisher publisher;
        private String name;
        private OutboxNames names = OutboxNames.DEFAULT;
        private int batchSize = DEFAULT_BATCH_SIZE;
        private Duration pollInterval = DEFAULT_POLL_INTERVAL;
        private Duration lease = DEFAULT_LEASE;
        private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
        private Duration initialBackoff = DEFAULT_INITIAL_BACKOFF;
        private Duration maxBackoff = DEFAULT_MAX_BACKOFF;
        private double jitter = DEFAULT_JITTER;
        private boolean ordered = true;
        private boolean deadMessagesBlockAggregate = true;
        private int workers = DEFAULT_WORKERS;
        private ClaimMode claimMode = ClaimMode.LEASE;
        private boolean deleteOnPublish;
        private Duration statementTimeout = DEFAULT_STATEMENT_TIMEOUT;
        private final List<OutboxListener> listeners = new ArrayList<>();
        private OpenTelemetry openTelemetry;

        private Builder(Jdbi jdbi, MessagePublisher publisher) {
            this.jdbi = Objects.requireNonNull(jdbi, "jdbi");
            this.publisher = Objects.requireNonNull(publisher, "publisher");
        }

        /**
         * The lease owner and log prefix, 1 to 200 characters, none of them a NUL or a lone UTF-16
         * surrogate (PostgreSQL, which records it on every claimed message, cannot store those as
         * given); default {@code <host>-<pid>-<random>}, unique per poller, with the host from the
         * {@code HOSTNAME} environment variable when set (no network look-up).
         */
        public Builder name(String name) {
            this.name = name;
            return this;
        }

        /** The outbox's tables and wake-up channel; default {@link OutboxNames#DEFAULT}. */
        public Builder names(OutboxNames names) {
            this.names = names;
            return this;
        }

        /** Messages claimed per cycle, 1 to 10,000; default 100. */
        public Builder batchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /**
         * Worker threads, 1 to 64; default 1. More than one overlaps the cycles: a worker claims or
         * records its batch while another's is being delivered. Each holds a pooled connection
         * only while it claims or records (under {@link ClaimMode#LOCK}, also while its batch is
         * delivered): the pool needs {@code workers} + 1 connections for the poller, the one more
         * for its LISTEN thread (see {@link OutboxPoller#start()}).
         */
        public Builder workers(int workers) {
            this.workers = workers;
            return this;
        }

        /**
         * How claimed messages are held while they are delivered: a committed lease (default) or
         * row locks in a transaction open through delivery; see {@link ClaimMode}.
         */
        public Builder claimMode(ClaimMode claimMode) {
            this.claimMode = claimMode;
            return this;
        }

        /**
         * Whether a delivered message is deleted instead of being kept as PUBLISHED (default
         * false). Deleting writes less, and suits a service that keeps no history of what it sent;
         * but a deleted message cannot be listed or replayed (replay-cli), so it is off by default.
         */
        public Builder deleteOnPublish(boolean delete) {
            this.deleteOnPublish = delete;
            return this;
        }

        /** How long an idle poller waits for a notification before it looks anyway; default 1 s. */
        public Builder pollInterval(Duration pollInterval) {
            this.pollInterval = pollInterval;
            return this;
        }

        /**
         * How long a claim lasts; a message whose poller has not recorded an outcome by then may be
         * claimed again (and so delivered twice). Must exceed the publisher's worst delivery time
         * of a batch; default 30 s.
         */
        public Builder lease(Duration lease) {
            this.lease = lease;
            return this;
        }

        /**
         * How long one of the poller's statements (a claim, the record of an outcome) may run
         * before PostgreSQL cancels it, 1 ms to 24 days; default 30 s. A safety net: these
         * statements take milliseconds, and one that runs on (a bad plan, a wait behind a table
         * lock) would otherwise hold its connection and its row locks for as long as it runs. A
         * cancelled statement fails its cycle like any database error: it is logged, nothing it
         * wrote is kept, and the batch's messages are claimed again (a lock's at once, a lease's
         * when it ends). It applies to the poller's own transactions only.
         */
        public Builder statementTimeout(Duration statementTimeout) {
            this.statementTimeout = statementTimeout;
            return this;
        }

        /** Deliveries tried before a message is DEAD, at least 1; default 10. */
        public Builder maxAttempts(int maxAttempts) {
            this.maxAttempts = maxAttempts;
            return this;
        }

        /** The retry delay after the first failure and its cap; defaults 1 s and 5 min. */
        public Builder backoff(Duration initial, Duration max) {
            this.initialBackoff = initial;
            this.maxBackoff = max;
            return this;
        }

        /** The random share of each retry delay, 0 to 1; default 0.2. */
        public Builder jitter(double jitter) {
            this.jitter = jitter;
            return this;
        }

        /**
         * Whether messages of one aggregate are delivered strictly in write order (default true).
         * Off, batches take any due message, for throughput when the consumer does not care.
         */
        public Builder orderedByAggregate(boolean ordered) {
            this.ordered = ordered;
            return this;
        }

        /**
         * With ordering on, whether a DEAD message holds back the later messages of its aggregate
         * until an operator requeues it (default true: order is never broken). False lets the rest
         * of the aggregate go on without it; each claim then reads past the DEAD messages of the
         * aggregates it considers, so an aggregate that piles up DEAD ones (hundreds of thousands:
         * a claim of 100 took seconds behind 200,000) makes every claim slower until they are
         * requeued or deleted.
         */
        public Builder deadMessagesBlockAggregate(boolean block) {
            this.deadMessagesBlockAggregate = block;
            return this;
        }

        /**
         * Adds a listener, told of every claim, delivery, failure, dead message and failed poll
         * cycle (see {@link OutboxListener}); none by default. A listener that throws is logged
         * and ignored.
         */
        public Builder addListener(OutboxListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /**
         * Where the PRODUCER spans come from. Default: the global OpenTelemetry once the host has
         * installed one ({@code GlobalOpenTelemetry.set}, or an SDK's autoconfiguration as global);
         * until then no span is made.
         */
        public Builder openTelemetry(OpenTelemetry openTelemetry) {
            this.openTelemetry = Objects.requireNonNull(openTelemetry, "openTelemetry");
            return this;
        }

        /**
         * A poller with these options, copied: changing this builder afterwards does not change it.
         *
         * @throws IllegalArgumentException naming the first invalid option and its allowed range
         */
        public OutboxPoller build() {
            PollerSettings settings = new PollerSettings(name == null ? defaultName() : name, names, batchSize, workers,
                    claimMode, deleteOnPublish, pollInterval, lease, statementTimeout, maxAttempts, initialBackoff,
                    maxBackoff, jitter, ordered, deadMessagesBlockAggregate);
            return new OutboxPoller(jdbi, publisher, settings, SafeListener.of(listeners), Tracing.of(openTelemetry));
        }

        private static String defaultName() {
            String host = System.getenv("HOSTNAME");
            if (host == null || host.isBlank() || host.length() > 100) {
                host = "poller";
            }
            return host.strip() + "-" + ProcessHandle.current().pid() + "-"
                    + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        }
    }
}
