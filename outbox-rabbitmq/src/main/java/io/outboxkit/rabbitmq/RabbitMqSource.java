package io.outboxkit.rabbitmq;

import com.rabbitmq.client.ConnectionFactory;
import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.spi.BatchReceiver;
import io.outboxkit.core.spi.Closing;
import io.outboxkit.core.spi.MessageSource;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives outbox messages from a RabbitMQ queue bound to the publisher's exchange, and hands
 * them to a {@link BatchReceiver} in batches.
 *
 * <p>At start the source declares, if absent, the durable topic exchange, its durable queue (with
 * {@code x-single-active-consumer} unless turned off) bound with each binding key (default
 * {@code #}: every message), and its durable dead-letter queue (default
 * {@code <queue>.dead-letter}). It consumes with manual acknowledgements and a prefetch, reads
 * each message with {@link io.outboxkit.core.spi.TransportHeaders#read}, and hands batches of at
 * most {@link Builder#batchSize} messages, at most one per aggregate, to the receiver on one
 * thread of its own. A message is acknowledged only after the receiver returned without listing
 * it as failed (several at once with one {@code multiple} ack where they are consecutive).
 *
 * <p><b>Failures.</b> A message the receiver failed (or a batch it threw on) is not given back to
 * the broker: it stays unacknowledged in the source's hands and is handed over again after a
 * backoff ({@link Builder#initialBackoff}, doubling up to {@link Builder#maxBackoff}); once the
 * receiver failed that message itself {@link Builder#maxAttempts} times it is dead-lettered. A
 * batch the receiver threw on (its database down, say) is handed over again however long that
 * lasts, and counts no attempt toward {@code maxAttempts}, before or after: it dead-letters
 * nothing. The message's {@link io.outboxkit.core.OutboxMessage#attempts()} counts every
 * hand-over, those too. A message that is not a readable outbox
 * message is dead-lettered at once. Dead-lettering publishes a copy (body and properties kept,
 * the error in header {@value #DEAD_LETTER_ERROR_HEADER}, the attempts in
 * {@value #DEAD_LETTER_ATTEMPTS_HEADER}) to the dead-letter queue, waits for the broker's confirm,
 * and only then acknowledges the original: nothing is dropped silently. A copy whose headers no
 * longer fit the connection's {@code frame_max} goes without the message's own headers, as {@link
 * io.outboxkit.core.spi.ShortDeadLetter} describes.
 *
 * <p><b>Order per aggregate.</b> RabbitMQ delivers a queue's messages to a consumer in queue
 * order, and the publisher puts each aggregate's messages in the queue in outbox order. A
 * requeue ({@code basic.nack}) would put a failed message back while later ones, already
 * prefetched, went on; so the source never requeues. While a message of an aggregate waits for
 * its retry, the later messages of that aggregate wait behind it in the source (unacknowledged),
 * and reach the receiver only after it succeeded or was dead-lettered; other aggregates go on.
 * With {@link Builder#singleActiveConsumer} (the default) only one of several sources on the
 * queue receives at a time; another takes over when it goes, from the oldest unacknowledged
 * message. A lost connection puts every unacknowledged message back in its place in the queue,
 * and the source forgets what it held (the attempts counted too): the broker delivers them again
 * in order. Waiting messages count against the prefetch: when all of it waits, nothing more is
 * received until a retry succeeds or its message is dead-lettered.
 *
 * <p><b>Duplicates.</b> A message whose acknowledgement was lost (the process died or the
 * connection dropped after the receiver returned) is delivered again; an idempotent receiver
 * ({@link io.outboxkit.core.IdempotentHandler}) skips it. A crash between a dead-letter copy's
 * confirm and the original's acknowledgement leaves two copies in the dead-letter queue.
 *
 * <p>A lost connection is opened again by the source every {@link Builder#reconnectInterval};
 * {@link #isConnected()} is false meanwhile. The URI's password never appears in a log line, an
 * error or {@link #toString()}. Thread-safe.
 */
public final class RabbitMqSource implements MessageSource {

    /** The exchange unless set: {@code outbox}, the publisher's default. */
    public static final String DEFAULT_EXCHANGE = RabbitMqPublisher.DEFAULT_EXCHANGE;
    /** The binding key unless set: {@code #}, every routing key. */
    public static final String DEFAULT_BINDING_KEY = "#";
    /** Unacknowledged messages the broker may have out to the source at once: 200. */
    public static final int DEFAULT_PREFETCH = 200;
    /** The most messages handed to the receiver at once: 100. */
    public static final int DEFAULT_BATCH_SIZE = 100;
    /** The receiver's failures of a message before it is dead-lettered (a batch it threw on counts none): 10. */
    public static final int DEFAULT_MAX_ATTEMPTS = 10;
    /** The delay before the first retry of a failed message: 1 second (doubling after each further failure). */
    public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofSeconds(1);
    /**
     * The longest delay between attempts: 30 seconds. Short, because the later messages of the
     * aggregate wait (and take up prefetch) meanwhile; with the other defaults a message is
     * dead-lettered about 2.5 minutes after its first failure.
     */
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(30);
    /** The bound of each step of the client (connect, a channel's request, a dead letter's confirm): 10 seconds. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    /** How often a lost connection is tried again: 5 seconds. */
    public static final Duration DEFAULT_RECONNECT_INTERVAL = Duration.ofSeconds(5);
    /** How long {@link #close()} waits for the batch in the receiver's hands: 30 seconds. */
    public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(30);
    /** What the dead-letter queue's name adds to the queue's unless set: {@code .dead-letter}. */
    public static final String DEAD_LETTER_SUFFIX = ".dead-letter";

    /** The header of a dead-lettered copy that says why: the receiver's error, or why the message is unreadable. */
    public static final String DEAD_LETTER_ERROR_HEADER = "dead_letter_error";
    /** The header of a dead-lettered copy with the times the receiver failed that message (0: unreadable). */
    public static final String DEAD_LETTER_ATTEMPTS_HEADER = "dead_letter_attempts";
    /** The header of a dead-lettered copy with the queue the source read it from. */
    public static final String DEAD_LETTER_QUEUE_HEADER = "dead_letter_queue";
    /** The header of a dead-lettered copy with the exchange it was published to. */
    public static final String ORIGINAL_EXCHANGE_HEADER = "original_exchange";
    /** The header of a dead-lettered copy with the routing key it was published with. */
    public static final String ORIGINAL_ROUTING_KEY_HEADER = "original_routing_key";

    private static final Logger LOG = LoggerFactory.getLogger(RabbitMqSource.class);

    private final SourceOptions options;
    private final ConnectionFactory factory;
    private final Object lifecycle = new Object();
    private boolean started;
    private volatile boolean closed;
    /** The first close(), which a close called meanwhile waits for. */
    private final Closing closing = new Closing();
    private volatile SourceLoop loop;
    private volatile Thread thread;

    private RabbitMqSource(SourceOptions options) {
        this.options = options;
        this.factory = Connections.factory(options.uri(), options.timeout(), null);
    }

    /**
     * A builder for a source reading {@code queue} (a consumer's name, e.g. {@code CONSUMER_NAME})
     * from the broker at {@code uri}: {@code amqp://user:password@host:port/vhost} (the virtual
     * host %-encoded: {@code /%2F} is {@code /}), or {@code amqps://...}. Checked by
     * {@link Builder#build()}.
     */
    public static Builder builder(String uri, String queue) {
        return new Builder(uri, queue);
    }

    /** The queue this source reads. */
    public String queue() {
        return options.queue();
    }

    /** The queue unreadable and repeatedly failing messages go to. */
    public String deadLetterQueue() {
        return options.deadLetterQueue();
    }

    /**
     * Connects, declares the exchange, the queues and the bindings, and starts receiving on a
     * thread of its own.
     *
     * @throws IllegalStateException when already started or closed
     * @throws OutboxException       when the broker refused for good (credentials, virtual host,
     *                               permissions, a queue or exchange of that name with other
     *                               settings); one that cannot be reached is only logged, and tried
     *                               again every {@link Builder#reconnectInterval}
     */
    @Override
    public void start(BatchReceiver receiver) {
        Objects.requireNonNull(receiver, "receiver");
        synchronized (lifecycle) {
            if (started || closed) {
                throw new IllegalStateException("the RabbitMQ source on queue '" + options.queue() + "' was already "
                        + (closed ? "closed" : "started"));
            }
            started = true;
            LinkedBlockingQueue<Delivery> inbound = new LinkedBlockingQueue<>();
            SourceSession first = null;
            try {
                first = SourceSession.open(options, factory, inbound);
            } catch (Exception e) {
                if (BrokerErrors.isPermanent(e)) {
                    closed = true;
                    closing.ended(); // nothing runs: a close() after this has nothing to wait for
                    throw new OutboxException("RabbitMQ source on queue '" + options.queue() + "' cannot start: "
                            + options.uri() + ": " + BrokerErrors.describe(e), e);
                }
                LOG.warn("RabbitMQ source on queue '{}' cannot reach {} now ({}); trying again every {} ms", options.queue(),
                        options.uri(), BrokerErrors.describe(e), options.reconnectInterval().toMillis());
            }
            loop = new SourceLoop(options, factory, receiver, inbound, first);
            thread = new Thread(loop, "outbox-rabbitmq-source-" + options.queue());
            thread.start();
        }
        LOG.info("RabbitMQ source started on queue '{}' at {}: exchange '{}', binding keys {}, prefetch {}, batchSize {}, "
                + "maxAttempts {}, backoff {}..{} ms, dead letters to '{}', single active consumer {}", options.queue(),
                options.uri(), options.exchange(), options.bindingKeys(), options.prefetch(), options.batchSize(),
                options.maxAttempts(), options.initialBackoff().toMillis(), options.maxBackoff().toMillis(),
                options.deadLetterQueue(), options.singleActiveConsumer());
    }

    /**
     * Whether the source is connected and consuming (with a single active consumer, it may be the
     * one on standby); false before start, after close, and while reconnecting.
     */
    @Override
    public boolean isConnected() {
        SourceLoop current = loop;
        return !closed && current != null && current.isConnected();
    }

    /**
     * Whether the receiving thread lives (also while it reconnects), or the source is not started
     * yet or was closed: see {@link MessageSource#isAlive()}.
     */
    @Override
    public boolean isAlive() {
        // No lock: start() holds it while it reaches for the broker, and a probe must not wait for that.
        // Not Thread.isAlive(): the thread is published before it is started, and a NEW thread has not ended.
        Thread current = thread;
        return current == null || closed || current.getState() != Thread.State.TERMINATED;
    }

    /**
     * Stops receiving: the batch in the receiver's hands is finished and acknowledged first
     * (waiting at most {@link Builder#closeTimeout}, then the thread is interrupted); every message
     * not acknowledged goes back to the queue. Calling it again, or from the receiver, does
     * nothing more; called while another close is under way (on another thread than the
     * receiver's), it returns once that close has ended and, when that close came from the
     * receiver (which returns at once: the loop ends after this batch), once the receiver's batch
     * is acknowledged and its thread has ended, waiting at most {@link Builder#closeTimeout}.
     */
    @Override
    public void close() {
        Thread worker;
        boolean underWay;
        synchronized (lifecycle) {
            underWay = closed;
            closed = true;
            worker = thread;
            if (!underWay && loop != null) {
                loop.stop();
            }
        }
        closing.close(!underWay, Collections.singleton(worker), options.closeTimeout(), () -> stop(worker));
    }

    private void stop(Thread worker) {
        if (worker == null) {
            return; // never started
        }
        if (closing.byWorker()) {
            return; // from within the receiver: the loop ends after this batch
        }
        try {
            if (options.closeTimeout().toMillis() > 0) {
                worker.join(options.closeTimeout().toMillis()); // join(0) would wait for ever
            }
            if (worker.isAlive()) {
                LOG.warn("RabbitMQ source on queue '{}': the receiver did not return within {} ms; interrupting it, its "
                        + "batch goes back to the queue", options.queue(), options.closeTimeout().toMillis());
                worker.interrupt();
                worker.join(Math.max(1, options.timeout().toMillis()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("RabbitMQ source on queue '{}' stopped", options.queue());
    }

    /** The broker's URI without its password, and the queue. */
    @Override
    public String toString() {
        return "RabbitMqSource[" + options.uri() + ", queue " + options.queue() + "]";
    }

    /**
     * Configures a {@link RabbitMqSource}. Every option has a named default; {@link #build()}
     * checks them, naming the option at fault and its allowed values. Not thread-safe; the built
     * source is.
     */
    public static final class Builder {
        private final String uri;
        private final String queue;
        private String exchange = DEFAULT_EXCHANGE;
        private List<String> bindingKeys = List.of(DEFAULT_BINDING_KEY);
        private int prefetch = DEFAULT_PREFETCH;
        private int batchSize = DEFAULT_BATCH_SIZE;
        private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
        private Duration initialBackoff = DEFAULT_INITIAL_BACKOFF;
        private Duration maxBackoff = DEFAULT_MAX_BACKOFF;
        private Duration timeout = DEFAULT_TIMEOUT;
        private Duration reconnectInterval = DEFAULT_RECONNECT_INTERVAL;
        private Duration closeTimeout = DEFAULT_CLOSE_TIMEOUT;
        private String deadLetterQueue;
        private boolean singleActiveConsumer = true;

        private Builder(String uri, String queue) {
            this.uri = uri;
            this.queue = queue;
        }

        /** The exchange the queue is bound to, declared as a durable topic exchange if absent; default {@value #DEFAULT_EXCHANGE}. */
        public Builder exchange(String exchange) {
            this.exchange = exchange;
            return this;
        }

        /**
         * The topic patterns the queue is bound with ({@code Order.*}, {@code Order.OrderPaid},
         * {@code #}), at least one, each at most 255 bytes; default {@code #}. Bindings the queue
         * has from before are kept.
         */
        public Builder bindingKeys(List<String> bindingKeys) {
            this.bindingKeys = bindingKeys;
            return this;
        }

        /**
         * Unacknowledged messages the broker may have out to this source at once (those waiting
         * for a retry included): 1 to 65535, at least {@code batchSize}; default {@value #DEFAULT_PREFETCH}.
         */
        public Builder prefetch(int prefetch) {
            this.prefetch = prefetch;
            return this;
        }

        /** The most messages handed to the receiver at once: 1 to {@code prefetch}; default {@value #DEFAULT_BATCH_SIZE}. */
        public Builder batchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /**
         * The times the receiver may fail a message (list it as failed) before it is dead-lettered: 1
         * to 1000; default {@value #DEFAULT_MAX_ATTEMPTS}. A batch the receiver threw on counts for none
         * of its messages.
         */
        public Builder maxAttempts(int maxAttempts) {
            this.maxAttempts = maxAttempts;
            return this;
        }

        /** The delay before the first retry: 1 ms to 1 hour; default 1 second. */
        public Builder initialBackoff(Duration initialBackoff) {
            this.initialBackoff = initialBackoff;
            return this;
        }

        /** The longest delay between attempts: {@code initialBackoff} to 1 hour; default 30 seconds. */
        public Builder maxBackoff(Duration maxBackoff) {
            this.maxBackoff = maxBackoff;
            return this;
        }

        /** The bound of each step of the client (connect, a request, a dead letter's confirm): 1 ms to 10 minutes; default 10 seconds. */
        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        /** How often a lost connection is tried again: 10 ms to 10 minutes; default 5 seconds. */
        public Builder reconnectInterval(Duration reconnectInterval) {
            this.reconnectInterval = reconnectInterval;
            return this;
        }

        /** How long {@link RabbitMqSource#close()} waits for the batch in hand: 0 to 1 hour; default 30 seconds. */
        public Builder closeTimeout(Duration closeTimeout) {
            this.closeTimeout = closeTimeout;
            return this;
        }

        /** The queue dead letters go to (declared durable if absent); default the queue's name + {@value #DEAD_LETTER_SUFFIX}. */
        public Builder deadLetterQueue(String deadLetterQueue) {
            this.deadLetterQueue = deadLetterQueue;
            return this;
        }

        /**
         * Whether the queue is declared with {@code x-single-active-consumer}, so that of several
         * sources on it one receives at a time, which keeps order per aggregate (default true).
         * Without it several sources share the queue's messages and order per aggregate is lost.
         * An existing queue must have been declared the same way.
         */
        public Builder singleActiveConsumer(boolean singleActiveConsumer) {
            this.singleActiveConsumer = singleActiveConsumer;
            return this;
        }

        /**
         * Checks the options; connecting waits for {@link RabbitMqSource#start}.
         *
         * @throws InvalidOptionException naming an option that is missing or out of range
         */
        public RabbitMqSource build() {
            AmqpUri parsed = AmqpUri.parse("uri", uri);
            Options.requireName("queue", queue);
            Options.requireName("exchange", exchange);
            String deadLetters = deadLetterQueue == null ? queue + DEAD_LETTER_SUFFIX : deadLetterQueue;
            Options.requireName("deadLetterQueue", deadLetters);
            if (deadLetters.equals(queue)) {
                throw new InvalidOptionException(null, List.of("deadLetterQueue", "queue"),
                        "deadLetterQueue must differ from the queue: " + queue);
            }
            if (bindingKeys == null || bindingKeys.isEmpty()) {
                throw new InvalidOptionException("bindingKeys", "bindingKeys must hold at least one topic pattern, e.g. #");
            }
            for (String key : bindingKeys) {
                if (key == null || key.getBytes(StandardCharsets.UTF_8).length > AmqpMessages.MAX_SHORT_STRING) {
                    throw new InvalidOptionException("bindingKeys", "bindingKeys must each be a topic pattern of at most 255 bytes, not "
                            + (key == null ? "null" : key.length() + " characters"));
                }
            }
            Options.requireBetween("prefetch", prefetch, 1, 65535);
            Options.requireBetween("batchSize", batchSize, 1, prefetch);
            Options.requireBetween("maxAttempts", maxAttempts, 1, 1000);
            Options.requireBetween("initialBackoff", initialBackoff, Duration.ofMillis(1), Duration.ofHours(1));
            Options.requireBetween("maxBackoff", maxBackoff, initialBackoff, Duration.ofHours(1));
            Options.requireBetween("timeout", timeout, Duration.ofMillis(1), Duration.ofMinutes(10));
            Options.requireBetween("reconnectInterval", reconnectInterval, Duration.ofMillis(10), Duration.ofMinutes(10));
            Options.requireBetween("closeTimeout", closeTimeout, Duration.ZERO, Duration.ofHours(1));
            return new RabbitMqSource(new SourceOptions(parsed, queue, exchange, bindingKeys, prefetch, batchSize,
                    maxAttempts, initialBackoff, maxBackoff, timeout, reconnectInterval, closeTimeout, deadLetters,
                    singleActiveConsumer));
        }
    }
}
