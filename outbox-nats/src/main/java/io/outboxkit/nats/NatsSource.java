package io.outboxkit.nats;

import io.nats.client.Connection;
import io.nats.client.ConsumerContext;
import io.nats.client.FetchConsumeOptions;
import io.nats.client.FetchConsumer;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamOptions;
import io.nats.client.Message;
import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.BatchFailures;
import io.outboxkit.core.spi.BatchReceiver;
import io.outboxkit.core.spi.Closing;
import io.outboxkit.core.spi.MessageSource;
import io.outboxkit.core.spi.TransportHeaders;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives outbox messages from a NATS JetStream stream through a durable pull consumer and hands
 * them to a {@link BatchReceiver} in batches.
 *
 * <p><b>Acknowledgement.</b> The consumer acknowledges explicitly: a message is acked only after the
 * receiver returned without listing it as failed. A source that crashes before gives a redelivery,
 * which an idempotent receiver skips. A failed message is given back to the server with a delay
 * (exponential backoff from {@link Builder#initialBackoff(Duration) initialBackoff} to
 * {@link Builder#maxBackoff(Duration) maxBackoff}) and comes again; after the receiver failed that
 * message itself {@link Builder#maxAttempts(int) maxAttempts} times it is dead-lettered. The source
 * counts those failures while it holds the message, not the server's deliveries, which also count
 * the batches the receiver threw on: such a batch (its database down, say) is given back however
 * long that lasts and counts toward nothing. A source that starts, or starts over after a lost
 * connection, with that message still unacknowledged restarts the consumer at its ack floor (see
 * below) and counts from 1 again, as RabbitMQ's and Kafka's in-memory counts do. A message that
 * cannot be read as an outbox message ({@link TransportHeaders#read})
 * is dead-lettered at once. Dead-lettering stores the message in the dead-letter stream
 * ({@value #DEFAULT_DEAD_LETTER_STREAM} unless set, subjects {@code outbox-dead-letter.>}), on
 * subject {@code outbox-dead-letter.<consumer>.<original subject>}, with its body and headers and
 * the headers {@code dead_letter_reason} ({@code unreadable} or {@code failed}),
 * {@code dead_letter_error}, {@code dead_letter_attempts}, {@code dead_letter_consumer},
 * {@code dead_letter_stream}, {@code dead_letter_sequence} and {@code dead_letter_subject}; only
 * once the dead-letter stream acknowledged it is the original terminated. Nothing is dropped. A
 * copy too large for the server's {@code max_payload} or the stream's {@code max_msg_size} is
 * stored short, as {@link io.outboxkit.core.spi.ShortDeadLetter} describes, rather than retried for ever.
 *
 * <p><b>Order per aggregate.</b> JetStream redelivers a message given back after later ones were
 * delivered, so the source orders per aggregate itself: it hands the receiver at most one message
 * per aggregate per batch, the earliest it holds; while a message is failing, the later messages of
 * its aggregate that arrive stay in the source, unacknowledged (their ack wait extended), until it
 * succeeds or is dead-lettered. Other aggregates go on. A failed message that leaves the stream
 * before it comes again (removed by an operator, or by a limit of the stream) never comes again:
 * once its redelivery is overdue by the ack wait and the stream says it no longer holds it, the
 * source logs it as a warning and its aggregate goes on. The messages held this way count against
 * {@link Builder#maxAckPending(int) maxAckPending}; when it is reached the server sends only
 * redeliveries until some are done. A source that stopped or crashed with messages unacknowledged
 * leaves them to be redelivered after their ack wait, while the server would deliver later messages
 * at once; so when a source starts and its consumer has unacknowledged messages, it restarts the
 * consumer at its ack floor, the first unacknowledged message, and everything from there comes
 * again in stream order (what was acknowledged after that comes again as duplicates, which an
 * idempotent receiver skips; what was dead-lettered after that, which the receiver never recorded,
 * is terminated again instead of handed over: before it restarts the consumer, the source reads
 * from the dead-letter stream which of those messages it dead-lettered, and a restart it cannot
 * read them for waits, the consumer left as it was). It starts over the same way after a lost connection, since the
 * deliveries that were on the wire would otherwise come back only after their ack wait; nothing
 * fetched after the reconnection reaches the receiver before it has. Order
 * therefore holds across restarts and reconnections as long as one source at a time uses a
 * consumer name; several sources sharing one consumer share its messages but not their order. Each
 * message is still applied: a message one source failed may be redelivered to another, which
 * acknowledges it; once its redelivery is overdue (its backoff plus the ack wait), the source that
 * failed it finds it at or below the consumer's ack floor and lets the later messages of its
 * aggregate go on.
 *
 * <p><b>Connection.</b> It connects in {@link Builder#build()} (creating the stream and the
 * dead-letter stream if absent) and sets up the consumer in {@link #start}; then it reconnects by
 * itself forever, and a consumer deleted under it is created again. A consumer created again (at
 * start or while running) begins at the stream's first message, so everything the stream still
 * holds comes again, as at a restart: what had been dead-lettered is looked up first and terminated
 * again, not handed over, and a creation that cannot look it up waits. {@link #close()} finishes the
 * batch in the receiver's hands, acknowledges it, and closes the connection.
 *
 * <p>Thread-safe; the receiver is called by one thread of the source's own.
 */
public final class NatsSource implements MessageSource {

    /** Messages handed to the receiver at most per batch unless set: 100. */
    public static final int DEFAULT_BATCH_SIZE = 100;
    /** The receiver's failures of a message before it is dead-lettered unless set: 10. */
    public static final int DEFAULT_MAX_ATTEMPTS = 10;
    /** The delay before a failed message comes again the first time: 1 second, doubling after each failure. */
    public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofSeconds(1);
    /** The longest delay before a failed message comes again: 5 minutes. */
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofMinutes(5);
    /** How long the server waits for an ack before it redelivers: 30 seconds; held messages are kept alive. */
    public static final Duration DEFAULT_ACK_WAIT = Duration.ofSeconds(30);
    /** Messages delivered and not yet acknowledged at most (JetStream's own default): 1000. */
    public static final int DEFAULT_MAX_ACK_PENDING = 1000;
    /** How long one pull waits for messages when there are none: 1 second (also the longest wait of {@link #close()} for an idle source). */
    public static final Duration DEFAULT_FETCH_WAIT = Duration.ofSeconds(1);
    /** The dead-letter stream unless set: {@value}. */
    public static final String DEFAULT_DEAD_LETTER_STREAM = "OUTBOX_DEAD_LETTER";
    /** The first token(s) of a dead letter's subject unless set: {@value}. */
    public static final String DEFAULT_DEAD_LETTER_SUBJECT_PREFIX = "outbox-dead-letter";

    private static final Logger LOG = LoggerFactory.getLogger(NatsSource.class);
    private static final double JITTER = 0.2;
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration CLOSE_FLUSH = Duration.ofSeconds(2);
    /**
     * How much earlier than the first replayed message's time dead letters are looked for: the
     * dead-letter stream's leader may stamp by a clock behind that of the stream's.
     */
    private static final Duration CLOCK_SKEW = Duration.ofMinutes(1);

    private final String name;
    private final NatsServers servers;
    private final Consumers.Wanted wanted;
    private final int batchSize;
    private final int maxAttempts;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final Duration fetchWait;
    private final Duration retryWait;
    private final Connection connection;
    private final JetStreamManagement management;
    private final DeadLetters deadLetters;
    private final InHand inHand = new InHand();
    /**
     * The stream sequences, ahead of the restarted consumer, of messages dead-lettered before it
     * restarted: terminated again when they come, not handed over. Set at each restart, emptied as
     * the consumer passes them; only the worker uses it once started.
     */
    private TreeSet<Long> deadLetteredAhead = new TreeSet<>();
    private final Object lifecycle = new Object();
    private volatile boolean running;
    private volatile boolean receiving;
    /** The connection's reconnections when the consumer was last set up; only the worker reads and writes it. */
    private long setUpAtReconnects;
    /** Whether creating the deleted consumer again failed, said once at WARN; only the worker reads and writes it. */
    private boolean recreateFailing;
    private volatile boolean closed;
    /** The first close(), which a close called meanwhile waits for. */
    private final Closing closing = new Closing();
    private volatile Thread worker;
    private BatchReceiver receiver;
    private ConsumerContext consumer;

    private NatsSource(Builder builder, NatsServers servers, Connection connection) throws IOException {
        this.name = builder.name != null ? builder.name : builder.consumer;
        this.servers = servers;
        this.wanted = new Consumers.Wanted(builder.stream, builder.consumer, builder.subjectPrefix + ".>",
                builder.ackWait, builder.maxAckPending);
        this.batchSize = builder.batchSize;
        this.maxAttempts = builder.maxAttempts;
        this.initialBackoff = builder.initialBackoff;
        this.maxBackoff = builder.maxBackoff;
        this.fetchWait = builder.fetchWait;
        this.retryWait = builder.reconnectWait.isZero() ? Duration.ofMillis(100) : builder.reconnectWait;
        this.connection = connection;
        JetStreamOptions options = JetStreamOptions.builder().requestTimeout(REQUEST_TIMEOUT).build();
        this.management = connection.jetStreamManagement(options);
        JetStream jetStream = connection.jetStream(options);
        this.deadLetters = new DeadLetters(jetStream, connection::getMaxPayload, builder.deadLetterStream,
                builder.deadLetterSubjectPrefix, builder.consumer);
    }

    /**
     * A builder for a source reading from {@code servers} (one or more comma-separated URLs
     * {@code nats://[user:password@|token@]host[:port]}) through the durable consumer {@code consumer}
     * (a consumer name such as the application's {@code CONSUMER_NAME}: letters, digits, {@code -},
     * {@code _}). Checked in {@link Builder#build()}.
     */
    public static Builder builder(String servers, String consumer) {
        return new Builder(servers, consumer);
    }

    /**
     * Sets up the consumer (restarting it at its ack floor when it has unacknowledged messages, see
     * the class comment) and starts receiving on a thread of its own.
     *
     * @throws IllegalStateException when already started or closed, or when a consumer of that name
     *                               exists and does not fit (push, another ack policy or subjects)
     * @throws OutboxException       when JetStream does not answer
     */
    @Override
    public void start(BatchReceiver receiver) {
        java.util.Objects.requireNonNull(receiver, "receiver");
        synchronized (lifecycle) {
            if (worker != null || closed) {
                throw new IllegalStateException("source " + name + " was already started or closed");
            }
            try {
                setUpAtReconnects = reconnects();
                Consumers.ensure(management, wanted, name, LOG, this::findDeadLettered);
                consumer = connection.getConsumerContext(wanted.stream(), wanted.name());
            } catch (IOException | JetStreamApiException e) {
                throw new OutboxException("[" + name + "] cannot set up NATS consumer " + wanted.name() + " on stream "
                        + wanted.stream() + ": " + NatsConnector.describe(e), e);
            }
            this.receiver = receiver;
            running = true;
            receiving = true;
            worker = new Thread(this::run, "outbox-nats-source-" + name);
            worker.start();
        }
        LOG.info("[{}] started: servers={}, stream={}, consumer={}, subjects={}, batchSize={}, maxAttempts={}, ackWait={}, "
                + "maxAckPending={}, deadLetters={}", name, servers, wanted.stream(), wanted.name(), wanted.filterSubject(),
                batchSize, maxAttempts, wanted.ackWait(), wanted.maxAckPending(), deadLetters.stream());
    }

    /** Whether the connection is up and the last pull succeeded (for a health check). */
    @Override
    public boolean isConnected() {
        return running && receiving && connection.getStatus() == Connection.Status.CONNECTED;
    }

    /**
     * Whether the receiving thread lives (also while it cannot receive and tries again), or the
     * source is not started yet or was closed: see {@link MessageSource#isAlive()}.
     */
    @Override
    public boolean isAlive() {
        // No lock: start() holds it while it sets up the consumer on the server, and a probe must not wait for that.
        // Not Thread.isAlive(): the thread is published before it is started, and a NEW thread has not ended.
        Thread current = worker;
        return current == null || closed || current.getState() != Thread.State.TERMINATED;
    }

    /**
     * Stops: the batch in the receiver's hands is finished and acknowledged, then the connection is
     * closed; messages held unacknowledged are redelivered to the next source of this consumer.
     * Waits for the receiver as long as the fetch wait plus the ack wait. Called from the receiver
     * (on the source's own thread), it returns at once: the loop ends once the receiver has returned
     * that batch, which is then acknowledged, and closes the connection. Calling it again, or from
     * the receiver, does nothing more; called while another close is under way (on another thread
     * than the receiver's), it returns once that close has ended and, when that close came from the
     * receiver, once its batch is acknowledged and its thread has ended, waiting at most as long.
     */
    @Override
    public void close() {
        Thread stopping;
        boolean underWay;
        synchronized (lifecycle) {
            underWay = closed;
            closed = true;
            running = false;
            stopping = worker;
            lifecycle.notifyAll();
        }
        closing.close(!underWay, Collections.singleton(stopping), stopWait(), () -> stop(stopping));
    }

    /** How long a close waits for the receiver's batch: a fetch under way, then the ack wait. */
    private Duration stopWait() {
        return fetchWait.plus(wanted.ackWait());
    }

    private void stop(Thread stopping) {
        if (closing.byWorker()) {
            return; // from within the receiver: the loop ends after this batch, then releases (see run)
        }
        if (stopping != null) {
            try {
                stopping.join(stopWait().toMillis());
                if (stopping.isAlive()) {
                    LOG.warn("[{}] the receiver still has its batch after {}; closing anyway (the batch is redelivered)",
                            name, wanted.ackWait());
                    stopping.interrupt();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        release();
    }

    /** Sends the last batch's acks and closes the connection: after the loop has ended, or been given up on. */
    private void release() {
        try {
            if (connection.getStatus() == Connection.Status.CONNECTED) {
                connection.flush(CLOSE_FLUSH); // the acks of the last batch
            }
        } catch (java.util.concurrent.TimeoutException | RuntimeException e) {
            LOG.debug("[{}] flush before close failed: {}", name, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        NatsPublisher.closeQuietly(connection);
        LOG.info("[{}] stopped", name);
    }

    /** The servers (never a password), stream and consumer. */
    @Override
    public String toString() {
        return "NatsSource[" + name + ", servers=" + servers + ", stream=" + wanted.stream() + ", consumer=" + wanted.name() + "]";
    }

    /** The connection, for tests that cut it under a batch. */
    Connection connection() {
        return connection;
    }

    private void run() {
        try {
            receive();
        } catch (Error e) {
            // The thread ends here (logged once, not again by the uncaught-exception handler); the
            // health check then says not connected, where it said connected while nothing received.
            LOG.error("[{}] the receiver thread failed; no longer receiving from NATS consumer {}", name, wanted.name(), e);
        } finally {
            receiving = false;
            if (closing.byWorker()) {
                release(); // the receiver closed the source: its close() did not wait for this thread, so did not release
            }
        }
    }

    private void receive() {
        while (running) {
            try {
                cycle();
                if (!receiving) {
                    receiving = true;
                    LOG.info("[{}] receiving again from NATS consumer {}", name, wanted.name());
                }
            } catch (InterruptedException e) {
                if (running) {
                    LOG.warn("[{}] interrupted; stopping", name);
                }
                break;
            } catch (Exception e) {
                if (receiving) {
                    receiving = false;
                    LOG.warn("[{}] cannot receive from NATS consumer {} on stream {} ({}): {}; trying again every {}",
                            name, wanted.name(), wanted.stream(), servers, NatsConnector.describe(e), retryWait);
                } else {
                    LOG.debug("[{}] still cannot receive: {}", name, NatsConnector.describe(e));
                }
                recreateIfDeleted();
                pause(retryWait);
            }
        }
    }

    private void cycle() throws Exception {
        long reconnects = reconnects();
        if (reconnects != setUpAtReconnects) {
            startOver(reconnects);
        }
        long now = System.nanoTime();
        for (InHand.Entry held : inHand.heldSince(now - wanted.ackWait().toNanos() / 3)) {
            held.delivery.inProgress();
            held.touchedNanos = now;
        }
        boolean work = !inHand.ready(1).isEmpty();
        FetchConsumeOptions.Builder options = FetchConsumeOptions.builder().maxMessages(batchSize);
        FetchConsumer fetch = consumer.fetch(work ? options.noWait().build() : options.noWaitExpiresIn(fetchWait.toMillis()).build());
        Message message;
        while ((message = fetch.nextMessage()) != null) {
            accept(message);
        }
        if (reconnects() != reconnects) {
            return; // the pull may have gone to the server after a reconnection: start over before handing anything on
        }
        forgetGone(System.nanoTime());
        List<InHand.Entry> batch = inHand.ready(batchSize);
        if (!batch.isEmpty()) {
            deliver(batch);
        }
    }

    private void accept(Message delivery) {
        long sequence = delivery.metaData().streamSequence();
        if (!deadLetteredAhead.isEmpty() && deadLetteredBefore(delivery, sequence)) {
            return;
        }
        OutboxMessage message;
        try {
            message = read(delivery);
        } catch (IllegalArgumentException e) {
            if (!deadLetter(delivery, null, DeadLetters.UNREADABLE, "not an outbox message: " + e.getMessage(),
                    delivery.metaData().deliveredCount())) {
                giveBack(delivery, backoff(delivery.metaData().deliveredCount()));
            }
            return;
        }
        if (inHand.contains(sequence)) {
            inHand.redelivered(sequence, message, delivery, System.nanoTime());
        } else {
            inHand.add(sequence, message, delivery, System.nanoTime());
        }
    }

    /**
     * Whether {@code delivery} is a message dead-lettered before the consumer restarted; it is
     * terminated again. Handed over, it would be applied (an idempotent receiver never recorded it)
     * after the later messages of its aggregate that were applied while it was failing.
     */
    private boolean deadLetteredBefore(Message delivery, long sequence) {
        deadLetteredAhead.headSet(sequence).clear(); // passed without coming: removed from the stream
        if (!deadLetteredAhead.remove(sequence)) {
            return false;
        }
        LOG.debug("[{}] stream {} sequence {} was dead-lettered before the consumer restarted; terminating it again",
                name, wanted.stream(), sequence);
        terminate(delivery);
        return true;
    }

    /**
     * Before the consumer restarts at {@code from}: which of the messages it will deliver again this
     * consumer dead-lettered, read from the dead-letter stream (its letters stored since shortly
     * before the message at {@code from}; all of them when that message is gone). Only a restart pays
     * for this, never a batch.
     */
    private void findDeadLettered(long from) throws IOException, JetStreamApiException {
        ZonedDateTime since = null;
        try {
            since = management.getMessage(wanted.stream(), from).getTime().minus(CLOCK_SKEW);
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() != Streams.MESSAGE_NOT_FOUND) {
                throw e;
            }
        }
        deadLetteredAhead = deadLetters.sequencesFrom(wanted.stream(), from, since);
        if (!deadLetteredAhead.isEmpty()) {
            LOG.info("[{}] {} message(s) from stream sequence {} on were dead-lettered before; they are terminated "
                    + "again when the restarted consumer delivers them, not handed over", name,
                    deadLetteredAhead.size(), from);
        }
    }

    private static OutboxMessage read(Message delivery) {
        String payload;
        try {
            payload = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(delivery.getData() == null ? new byte[0] : delivery.getData()))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("the body is not UTF-8 text");
        }
        OutboxMessage read = TransportHeaders.read(NatsHeaders.read(delivery.getHeaders()), payload);
        int attempts = (int) Math.min(Integer.MAX_VALUE, delivery.metaData().deliveredCount());
        return new OutboxMessage(read.id(), read.sequence(), read.aggregateType(), read.aggregateId(), read.eventType(),
                read.payload(), read.headers(), read.createdAt(), attempts);
    }

    private void deliver(List<InHand.Entry> batch) {
        List<OutboxMessage> messages = batch.stream().map(entry -> entry.message).toList();
        Map<UUID, ? extends Exception> failures;
        Exception all = null;
        try {
            Map<UUID, ? extends Exception> reported = receiver.receive(messages);
            if (reported == null) {
                all = new IllegalStateException("the receiver returned null instead of its failures");
                failures = Map.of();
            } else {
                failures = BatchFailures.withCauses(reported, "the receiver");
            }
        } catch (Exception e) {
            all = e;
            failures = Map.of();
        }
        for (InHand.Entry entry : batch) {
            Exception failure = all != null ? all : failures.get(entry.message.id());
            if (failure == null) {
                ack(entry);
            } else {
                failed(entry, failure, all != null);
            }
        }
    }

    private void ack(InHand.Entry entry) {
        inHand.remove(entry);
        try {
            entry.delivery.ack();
            LOG.debug("[{}] message {} done and acknowledged", name, entry.message.id());
        } catch (RuntimeException e) {
            // The ack is lost: the message comes again, and the idempotent receiver skips it.
            LOG.debug("[{}] ack of message {} not sent: {}", name, entry.message.id(), NatsConnector.describe(e));
        }
    }

    /** {@code wholeBatch}: the receiver threw, which says nothing about this message (its database down, say). */
    private void failed(InHand.Entry entry, Exception failure, boolean wholeBatch) {
        String error = failure.getMessage() == null ? failure.getClass().getName() : failure.getMessage();
        if (!wholeBatch) {
            entry.failures++;
        }
        // A batch thrown on backs off by the server's deliveries (an outage backs off like a failing
        // message); the message's own failure by its own failures, not by the outage before it.
        Duration delay = backoff(wholeBatch ? entry.delivery.metaData().deliveredCount() : entry.failures);
        if (!wholeBatch && entry.failures >= maxAttempts) {
            if (deadLetter(entry.delivery, entry.message, DeadLetters.FAILED, error, entry.failures)) {
                inHand.remove(entry);
                return;
            }
        } else if (wholeBatch) {
            LOG.debug("[{}] message {} given back, again in {}: the receiver failed its whole batch: {}", name,
                    entry.message.id(), delay, error);
        } else {
            LOG.debug("[{}] message {} failed (attempt {} of {}), again in {}: {}", name, entry.message.id(),
                    entry.failures, maxAttempts, delay, error);
        }
        giveBack(entry.delivery, delay);
        // A nak that does not reach the server still gives a redelivery, after the ack wait.
        inHand.waiting(entry, System.nanoTime() + delay.plus(wanted.ackWait()).toNanos());
    }

    /**
     * The redelivery of a failed message that left the stream meanwhile (removed by an operator, or
     * aged out by a limit of the stream) never comes, and its aggregate would wait for it as long as
     * the source runs, the later messages held unacknowledged until they fill maxAckPending. Nor
     * does one that another source of the same consumer received and acknowledged (or dead-lettered):
     * the server redelivers to whichever source pulls. So when a redelivery is overdue the stream is
     * asked, and a message it no longer holds is forgotten; then the consumer is asked, and a message
     * at or below its ack floor, which the server never delivers again, is forgotten too: either way
     * its aggregate goes on. Anything else (the redelivery is only late, or JetStream gives no clear
     * answer) waits another ack wait and is asked again. With one source a message it is waiting for
     * is never below the ack floor (only it could have acknowledged it), so nothing changes there. A
     * consumer deleted or restarted under the source, or a reconnection, empties the hand anyway (see
     * recreateIfDeleted and startOver).
     */
    private void forgetGone(long now) {
        Long ackFloor = null; // asked once per pass, only when a message is overdue and still in the stream
        for (InHand.Entry entry : inHand.overdue(now)) {
            long sequence = entry.sequence;
            try {
                if (!Streams.holds(management, wanted.stream(), sequence)) {
                    forgetRemoved(entry);
                    continue;
                }
                ackFloor = ackFloor != null ? ackFloor : Consumers.ackFloor(management, wanted);
                if (sequence <= ackFloor) {
                    inHand.remove(entry);
                    LOG.debug("[{}] message {} (stream {} sequence {}) failed here and was then acknowledged or dead-lettered "
                            + "by another source of NATS consumer {}: the later messages of its aggregate go on", name,
                            entry.message.id(), wanted.stream(), sequence, wanted.name());
                    continue;
                }
                LOG.debug("[{}] message {} (stream {} sequence {}) is overdue for redelivery, still in the stream and "
                        + "unacknowledged; waiting for it", name, entry.message.id(), wanted.stream(), sequence);
            } catch (IOException | JetStreamApiException | RuntimeException e) {
                LOG.warn("[{}] message {} (stream {} sequence {}) is overdue for redelivery, holding back its aggregate, "
                        + "and NATS does not say whether the stream still holds it or the consumer still waits for its "
                        + "ack: {}; asking again in {} (the source's user must be allowed $JS.API.STREAM.MSG.GET.{} and "
                        + "$JS.API.CONSUMER.INFO.{}.{})", name, entry.message.id(), wanted.stream(), sequence,
                        NatsConnector.describe(e), wanted.ackWait(), wanted.stream(), wanted.stream(), wanted.name());
            }
            inHand.waiting(entry, now + wanted.ackWait().toNanos());
        }
    }

    private void forgetRemoved(InHand.Entry entry) {
        inHand.remove(entry);
        LOG.warn("[{}] message {} (stream {} sequence {}) failed and was then removed from the stream (by an "
                + "operator, or by the stream's limits) before it came again: it is not delivered, and the "
                + "later messages of its aggregate go on", name, entry.message.id(), wanted.stream(), entry.sequence);
        terminate(entry.delivery); // the consumer need not keep it pending
    }

    /**
     * Dead-letters and terminates {@code delivery} after {@code attempts}; false when the dead-letter
     * stream did not take it (to be given back).
     */
    private boolean deadLetter(Message delivery, OutboxMessage message, String reason, String error, long attempts) {
        long sequence = delivery.metaData().streamSequence();
        String id = message != null ? message.id().toString() : "(unreadable)";
        try {
            deadLetters.publish(delivery, reason, error, attempts);
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            LOG.error("[{}] message {} (stream {} sequence {}) could not be dead-lettered to stream {}: {}; it comes again",
                    name, id, wanted.stream(), sequence, deadLetters.stream(), NatsConnector.describe(e));
            return false;
        }
        LOG.error("[{}] message {} (stream {} sequence {}, subject {}) dead-lettered to stream {} after {} attempt(s), {}: {}",
                name, id, wanted.stream(), sequence, delivery.getSubject(), deadLetters.stream(), attempts, reason, error);
        terminate(delivery);
        BatchReceiver.tellDeadLettered(receiver, message, error);
        return true;
    }

    /** Tells the server never to deliver {@code delivery} again; a term that cannot be sent now is only logged (at worst it comes again). */
    private void terminate(Message delivery) {
        try {
            delivery.term();
        } catch (RuntimeException e) {
            LOG.debug("[{}] term of stream {} sequence {} not sent: {}", name, wanted.stream(),
                    delivery.metaData().streamSequence(), NatsConnector.describe(e));
        }
    }

    private void giveBack(Message delivery, Duration delay) {
        try {
            delivery.nakWithDelay(delay);
        } catch (RuntimeException e) {
            // Not given back: the server redelivers it after the ack wait instead.
            LOG.debug("[{}] nak not sent: {}", name, NatsConnector.describe(e));
        }
    }

    private Duration backoff(long attempts) {
        long exact = maxBackoff.toMillis();
        int doublings = (int) Math.max(0, attempts - 1);
        if (doublings < Long.numberOfLeadingZeros(initialBackoff.toMillis()) - 1) {
            exact = Math.min(exact, initialBackoff.toMillis() << doublings);
        }
        return Duration.ofMillis(exact - (long) (exact * JITTER * ThreadLocalRandom.current().nextDouble()));
    }

    /**
     * After a lost connection, deliveries that were on the wire are lost too, and the server would
     * send them again only after their ack wait while later ones flow: start over from the
     * consumer's ack floor, as at a start, so they come back at once and in order. Until it has,
     * nothing fetched since the reconnection goes to the receiver.
     */
    private void startOver(long reconnects) throws IOException, JetStreamApiException {
        LOG.info("[{}] reconnected: forgetting the {} message(s) in hand and starting NATS consumer {} over from its ack floor",
                name, inHand.size(), wanted.name());
        inHand.clear();
        Consumers.ensure(management, wanted, name, LOG, this::findDeadLettered);
        consumer = connection.getConsumerContext(wanted.stream(), wanted.name());
        setUpAtReconnects = reconnects;
    }

    /**
     * How often the connection has reconnected. The client counts a reconnection before it sends
     * anything queued on the new connection (so before any pull of ours reaches the new server),
     * whereas its reconnection event reaches listeners later, on another thread.
     */
    private long reconnects() {
        return connection.getStatistics().getReconnects();
    }

    private void recreateIfDeleted() {
        boolean deleted = false;
        try {
            if (connection.getStatus() == Connection.Status.CONNECTED && !Consumers.exists(management, wanted)) {
                deleted = true;
                inHand.clear();
                Consumers.ensure(management, wanted, name, LOG, this::findDeadLettered);
                consumer = connection.getConsumerContext(wanted.stream(), wanted.name());
                recreateFailing = false;
                LOG.warn("[{}] NATS consumer {} was deleted; created it again from the stream's first message (what "
                        + "was acknowledged before comes again, and an idempotent receiver skips it; what was "
                        + "dead-lettered is terminated again, not handed over)", name, wanted.name());
            }
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            if (deleted && !recreateFailing) {
                // Once, not every retryWait: the cause (the dead-letter stream not readable, say) is what a person acts on.
                recreateFailing = true;
                LOG.warn("[{}] NATS consumer {} was deleted and cannot be created again: {}; trying again every {}",
                        name, wanted.name(), NatsConnector.describe(e), retryWait);
            } else {
                LOG.debug("[{}] cannot check consumer {}: {}", name, wanted.name(), NatsConnector.describe(e));
            }
        }
    }

    private void pause(Duration wait) {
        synchronized (lifecycle) {
            if (running) {
                try {
                    lifecycle.wait(Math.max(1, wait.toMillis()));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    running = false;
                }
            }
        }
    }

    /**
     * Options of a {@link NatsSource}, each with a default ({@code DEFAULT_*} on the source; the
     * stream, subject prefix and connection options as {@link NatsPublisher}'s), checked in
     * {@link #build()}. Not thread-safe; build once.
     */
    public static final class Builder {

        private final String servers;
        private final String consumer;
        private String name;
        private String stream = NatsPublisher.DEFAULT_STREAM;
        private String subjectPrefix = NatsPublisher.DEFAULT_SUBJECT_PREFIX;
        private int batchSize = DEFAULT_BATCH_SIZE;
        private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
        private Duration initialBackoff = DEFAULT_INITIAL_BACKOFF;
        private Duration maxBackoff = DEFAULT_MAX_BACKOFF;
        private Duration ackWait = DEFAULT_ACK_WAIT;
        private int maxAckPending = DEFAULT_MAX_ACK_PENDING;
        private Duration fetchWait = DEFAULT_FETCH_WAIT;
        private String deadLetterStream = DEFAULT_DEAD_LETTER_STREAM;
        private String deadLetterSubjectPrefix = DEFAULT_DEAD_LETTER_SUBJECT_PREFIX;
        private Duration duplicateWindow = NatsPublisher.DEFAULT_DUPLICATE_WINDOW;
        private Duration maxAge = NatsPublisher.DEFAULT_MAX_AGE;
        private Duration connectTimeout = NatsPublisher.DEFAULT_CONNECT_TIMEOUT;
        private Duration reconnectWait = NatsPublisher.DEFAULT_RECONNECT_WAIT;

        private Builder(String servers, String consumer) {
            this.servers = servers;
            this.consumer = consumer;
        }

        /** The name on the connection and in log lines; default the consumer's name. */
        public Builder name(String name) {
            this.name = name;
            return this;
        }

        /** The stream to read, created if absent as {@link NatsPublisher} creates it; default {@value NatsPublisher#DEFAULT_STREAM}. */
        public Builder stream(String stream) {
            this.stream = stream;
            return this;
        }

        /** The subjects to read: {@code <subjectPrefix>.>}; default {@value NatsPublisher#DEFAULT_SUBJECT_PREFIX}. */
        public Builder subjectPrefix(String subjectPrefix) {
            this.subjectPrefix = subjectPrefix;
            return this;
        }

        /** Messages per batch at most, 1 to 10,000 and at most {@code maxAckPending}; default 100. */
        public Builder batchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /**
         * The receiver's failures of a message itself before it is dead-lettered, counted while this
         * source holds the message (a batch the receiver threw on counts for none of its messages),
         * 1 or more; default 10.
         */
        public Builder maxAttempts(int maxAttempts) {
            this.maxAttempts = maxAttempts;
            return this;
        }

        /** The delay before a failed message comes again the first time, doubling after each failure; default 1 second. */
        public Builder initialBackoff(Duration initialBackoff) {
            this.initialBackoff = initialBackoff;
            return this;
        }

        /** The longest delay before a failed message comes again; default 5 minutes. */
        public Builder maxBackoff(Duration maxBackoff) {
            this.maxBackoff = maxBackoff;
            return this;
        }

        /**
         * How long the server waits for a message's ack before it redelivers it; default 30 seconds.
         * Make it longer than the receiver takes for a batch.
         */
        public Builder ackWait(Duration ackWait) {
            this.ackWait = ackWait;
            return this;
        }

        /** Messages delivered and not yet acknowledged at most, at least {@code batchSize}; default 1000. */
        public Builder maxAckPending(int maxAckPending) {
            this.maxAckPending = maxAckPending;
            return this;
        }

        /** How long one pull waits when there are no messages, 1 second to 1 minute; default 1 second. */
        public Builder fetchWait(Duration fetchWait) {
            this.fetchWait = fetchWait;
            return this;
        }

        /** The stream dead letters go to, created if absent; default {@value #DEFAULT_DEAD_LETTER_STREAM}. */
        public Builder deadLetterStream(String deadLetterStream) {
            this.deadLetterStream = deadLetterStream;
            return this;
        }

        /** The first token(s) of a dead letter's subject (the dead-letter stream takes {@code <prefix>.>}); default {@value #DEFAULT_DEAD_LETTER_SUBJECT_PREFIX}. */
        public Builder deadLetterSubjectPrefix(String deadLetterSubjectPrefix) {
            this.deadLetterSubjectPrefix = deadLetterSubjectPrefix;
            return this;
        }

        /** The duplicate window of the streams this source creates; default 2 minutes. */
        public Builder duplicateWindow(Duration duplicateWindow) {
            this.duplicateWindow = duplicateWindow;
            return this;
        }

        /**
         * How long the stream keeps a message when this source creates it, as
         * {@link NatsPublisher.Builder#maxAge(Duration)}; default 7 days. Make it longer than this
         * source may be down or fall behind: a message it has not acknowledged when it ages out is lost
         * to it (one failing then is no longer waited for, see the class comment). The dead-letter
         * stream keeps its messages until an operator removes them.
         */
        public Builder maxAge(Duration maxAge) {
            this.maxAge = maxAge;
            return this;
        }

        /** How long connecting to one server may take; default 5 seconds. */
        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = connectTimeout;
            return this;
        }

        /** The wait between two rounds of reconnection attempts, and between two failed pulls; default 1 second. */
        public Builder reconnectWait(Duration reconnectWait) {
            this.reconnectWait = reconnectWait;
            return this;
        }

        /**
         * Checks every option, connects, and makes sure the stream and the dead-letter stream exist.
         * The source receives nothing until {@link NatsSource#start}.
         *
         * @throws InvalidOptionException naming an option that is wrong and what it may be
         * @throws OutboxException          when NATS cannot be reached, refuses the credentials, or a
         *                                  stream cannot be used
         */
        public NatsSource build() {
            NatsServers parsed = NatsServers.parse("servers", servers);
            Subjects.checkName("consumer", consumer);
            String shownName = name != null ? name : consumer;
            Checks.names(shownName, stream, subjectPrefix);
            Subjects.checkName("deadLetterStream", deadLetterStream);
            Subjects.checkPrefix("deadLetterSubjectPrefix", deadLetterSubjectPrefix);
            if (deadLetterStream.equals(stream)) {
                throw new InvalidOptionException(null, List.of("deadLetterStream", "stream"),
                        "deadLetterStream must differ from stream (" + stream + ")");
            }
            if (Streams.covers(subjectPrefix + ".>", deadLetterSubjectPrefix + ".x")
                    || Streams.covers(deadLetterSubjectPrefix + ".>", subjectPrefix + ".x")) {
                throw new InvalidOptionException(null, List.of("deadLetterSubjectPrefix", "subjectPrefix"),
                        "deadLetterSubjectPrefix (" + deadLetterSubjectPrefix + ") and subjectPrefix (" + subjectPrefix
                                + ") must not contain one another");
            }
            Checks.between("batchSize", batchSize, 1, 10_000);
            Checks.between("maxAttempts", maxAttempts, 1, 1_000_000);
            Checks.between("initialBackoff", initialBackoff, Duration.ofMillis(1), Duration.ofDays(1));
            Checks.between("maxBackoff", maxBackoff, initialBackoff, Duration.ofDays(1));
            Checks.between("ackWait", ackWait, Duration.ofSeconds(1), Duration.ofHours(12));
            Checks.between("maxAckPending", maxAckPending, batchSize, 1_000_000);
            Checks.between("fetchWait", fetchWait, Duration.ofSeconds(1), Duration.ofMinutes(1)); // jnats' least pull expiry
            Checks.connection(duplicateWindow, connectTimeout, reconnectWait);
            Checks.maxAge(maxAge, duplicateWindow);
            Connection connection = NatsConnector.connect(shownName, parsed, connectTimeout, reconnectWait, LOG);
            try {
                JetStreamManagement jsm = connection.jetStreamManagement();
                Streams.ensure(jsm, shownName, stream, subjectPrefix + ".>", duplicateWindow, maxAge, LOG);
                // Dead letters wait for an operator, however long that takes; there are few of them.
                Streams.ensure(jsm, shownName, deadLetterStream, deadLetterSubjectPrefix + ".>", duplicateWindow,
                        Duration.ZERO, LOG);
                return new NatsSource(this, parsed, connection);
            } catch (IOException | RuntimeException e) {
                NatsPublisher.closeQuietly(connection);
                if (e instanceof OutboxException outbox) {
                    throw outbox;
                }
                throw new OutboxException("[" + shownName + "] cannot use JetStream at " + parsed + ": "
                        + NatsConnector.describe(e), e);
            }
        }
    }
}
