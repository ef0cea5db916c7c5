package io.outboxkit.rabbitmq;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.Recoverable;
import com.rabbitmq.client.RecoveryListener;
import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.MessagePublisher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes outbox messages to a RabbitMQ topic exchange and counts a message delivered only when
 * the broker confirmed it (publisher confirms).
 *
 * <p>Each message goes to the durable topic exchange (default {@value #DEFAULT_EXCHANGE}, declared
 * if absent) with routing key {@code <aggregate_type>.<event_type>}, persistent (delivery mode 2),
 * {@code message_id} the message id, {@code type} the event type, {@code content_type}
 * {@code application/json}, {@code timestamp} the creation time (whole seconds, as AMQP keeps it),
 * the envelope and the message's own headers as AMQP headers (as
 * {@link io.outboxkit.core.spi.TransportHeaders} writes them), the payload as the UTF-8 body.
 *
 * <p>A confirm means that every queue the message was routed to took it; for a durable queue and
 * a persistent message that means written to disk. Messages are published {@code mandatory}: one
 * that no queue is bound for comes back from the broker and fails, rather than being dropped. A
 * message the broker refuses ({@code basic.nack}), one that is unroutable, one too large to send
 * ({@link Builder#maxMessageBytes}) fails alone, with a text an operator can act on; the rest of
 * its batch is delivered. A batch that is not confirmed within {@link Builder#timeout} fails
 * whatever is unconfirmed, so a broker that is down, blocked or slow never hangs the caller.
 * A failed message may still have reached the broker (a confirm that was lost or late): it is
 * sent again on retry, a duplicate the consumer's idempotent receiver absorbs.
 *
 * <p>The connection is opened at {@link Builder#build()}; credentials or a virtual host the
 * broker refuses stop it there with one clear error. A broker that cannot be reached then is
 * tried again in the background every {@link Builder#recoveryInterval}, and by each batch, until
 * it answers, so {@link #isConnected()} turns true when it does, with no batch to publish; once
 * connected, the client reopens a lost connection by itself as often, and batches fail with the
 * reason until it is back. The URI's password never appears in a log line, an error or {@link #toString()}.
 *
 * <p>Thread-safe: concurrent batches each publish on a channel of their own. Order: the messages
 * of one channel reach a queue in the order they were published; the outbox poller hands over a
 * message only after the earlier one of its aggregate was confirmed, so an aggregate's messages
 * reach every queue in order.
 */
public final class RabbitMqPublisher implements MessagePublisher, AutoCloseable {

    /** The exchange unless set: {@code outbox}. */
    public static final String DEFAULT_EXCHANGE = "outbox";
    /**
     * How long a batch waits for its confirms, and any single step of the client (connect, a
     * channel's request): 10 seconds, well below the outbox poller's 30-second lease.
     */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    /**
     * The largest payload sent: 16 MiB, RabbitMQ 4's default {@code max_message_size} (3.x allows
     * 128 MiB). A larger message fails alone here, where the broker would close the channel.
     */
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
    /** How often the client tries to reopen a lost connection: 5 seconds. */
    public static final Duration DEFAULT_RECOVERY_INTERVAL = Duration.ofSeconds(5);

    private static final Logger LOG = LoggerFactory.getLogger(RabbitMqPublisher.class);
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final AmqpUri uri;
    private final String exchange;
    private final Duration timeout;
    private final int maxMessageBytes;
    private final Duration recoveryInterval;
    private final ConnectionFactory factory;
    private final ExecutorService senders = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "outbox-rabbitmq-publish-" + THREADS.incrementAndGet());
        thread.setDaemon(true);
        return thread;
    });
    private final ConcurrentLinkedQueue<ConfirmChannel> idle = new ConcurrentLinkedQueue<>();
    private final ReentrantLock connecting = new ReentrantLock();
    private volatile Connection connection;
    private volatile String blockedBecause;
    private final CountDownLatch closing = new CountDownLatch(1);
    private volatile boolean closed;

    private RabbitMqPublisher(Builder builder, AmqpUri uri) {
        this.uri = uri;
        this.exchange = builder.exchange;
        this.timeout = builder.timeout;
        this.maxMessageBytes = builder.maxMessageBytes;
        this.recoveryInterval = builder.recoveryInterval;
        this.factory = Connections.factory(uri, timeout, recoveryInterval);
    }

    /**
     * A builder for a publisher to the broker at {@code uri}:
     * {@code amqp://user:password@host:port/vhost} (the virtual host %-encoded: {@code /%2F} is
     * {@code /}), or {@code amqps://...} for TLS checked against the JVM's trust store. Checked by
     * {@link Builder#build()}.
     */
    public static Builder builder(String uri) {
        return new Builder(uri);
    }

    /** The exchange messages are published to. */
    public String exchange() {
        return exchange;
    }

    /** {@code rabbitmq}, for the poller's PRODUCER spans ({@code messaging.system}). */
    @Override
    public String messagingSystem() {
        return "rabbitmq";
    }

    /** {@code publish}, RabbitMQ's name for the operation in the messaging semantic conventions. */
    @Override
    public String operationName() {
        return "publish";
    }

    /** The exchange: the span's {@code messaging.destination.name} (the routing key is per message). */
    @Override
    public String destinationName(OutboxMessage message) {
        return exchange;
    }

    /**
     * Whether the connection to the broker is open (for a health check); false while it is being
     * reopened, or not yet opened (then tried every {@link Builder#recoveryInterval}). Never blocks.
     */
    @Override
    public boolean isConnected() {
        Connection current = connection;
        return !closed && current != null && current.isOpen();
    }

    /**
     * Publishes one message and waits for its confirm.
     *
     * @throws OutboxException saying why the message was not confirmed
     */
    @Override
    public void publish(OutboxMessage message) throws InterruptedException {
        Exception failure = publishAll(List.of(message)).get(message.id());
        if (failure instanceof OutboxException outbox) {
            throw outbox;
        }
        if (failure != null) {
            throw new OutboxException(failure.getMessage(), failure);
        }
    }

    /**
     * Publishes the batch as a whole on one channel and waits, at most {@link Builder#timeout},
     * for the broker's confirms.
     *
     * @return the messages that were not confirmed, each with why: refused, unroutable, too large,
     *     the connection or channel lost, or no confirm in time, each a {@code PublishException}
     *     whose reason says which kind; every other message was confirmed
     * @throws IllegalStateException when the publisher is closed
     * @throws InterruptedException when interrupted while waiting; the outcome is then unknown
     */
    @Override
    public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
        Objects.requireNonNull(batch, "batch");
        if (closed) {
            throw new IllegalStateException("the RabbitMQ publisher for " + uri + " is closed");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<UUID, OutboxMessage> distinct = new LinkedHashMap<>();
        batch.forEach(message -> distinct.putIfAbsent(message.id(), message));
        List<OutboxMessage> messages = new ArrayList<>(distinct.values());
        BatchConfirms confirms = new BatchConfirms(messages.size());
        if (messages.isEmpty()) {
            return Map.of();
        }
        String blocked = blockedBecause;
        if (blocked != null) {
            // Unavailable, not refused: the broker takes no publish from anyone until its alarm clears,
            // whatever the message; the operator's fix is the broker's, as when it is down.
            confirms.failUnsettled(messages, FailureReason.UNAVAILABLE, "RabbitMQ blocks publishing on this connection ("
                    + blocked + "): a memory or disk alarm on the broker; free its resources");
            return confirms.failures();
        }
        ConfirmChannel channel;
        try {
            channel = channel();
        } catch (Exception e) {
            // A refusal (the exchange exists with another type, permissions, credentials refused at a
            // first connect) is the operator's to fix, not the broker's to come back from.
            confirms.failUnsettled(messages, BrokerErrors.reason(e),
                    "cannot publish to RabbitMQ at " + uri + ": " + describeConnection(e));
            return confirms.failures();
        }
        int frameMax = connection.getFrameMax();
        CompletableFuture<Void> sending;
        try {
            sending = CompletableFuture.runAsync(() -> send(channel, messages, confirms, frameMax), senders);
        } catch (RejectedExecutionException e) {
            channel.close();
            throw new IllegalStateException("the RabbitMQ publisher for " + uri + " is closed", e);
        }
        boolean settled = false;
        try {
            settled = confirms.await(deadline - System.nanoTime());
        } finally {
            if (!settled) {
                String why = "no confirm from RabbitMQ within " + timeout.toMillis() + " ms (exchange '" + exchange
                        + "'): the broker is slow, blocked or unreachable";
                confirms.failUnsettled(messages, FailureReason.TIMEOUT, why);
                channel.abandon(confirms, why);
            }
            sending.whenComplete((ignored, error) -> retire(channel));
        }
        Map<UUID, Exception> failures = confirms.failures();
        if (LOG.isDebugEnabled()) {
            LOG.debug("published {} messages to exchange {}: {} confirmed, failed: {}", messages.size(), exchange,
                    messages.size() - failures.size(), failures.keySet());
        }
        return failures;
    }

    private void send(ConfirmChannel channel, List<OutboxMessage> messages, BatchConfirms confirms, int frameMax) {
        for (OutboxMessage message : messages) {
            AmqpMessages.Outgoing outgoing;
            try {
                outgoing = AmqpMessages.outgoing(message, maxMessageBytes, frameMax);
            } catch (IllegalArgumentException e) {
                confirms.failed(message, FailureReason.REFUSED,
                        "message " + message.id() + " cannot be sent to RabbitMQ: " + e.getMessage());
                continue;
            }
            ConfirmChannel.Broken broken = channel.broken();
            if (broken != null) {
                confirms.failed(message, broken.reason(), "not sent to RabbitMQ: " + broken.why());
                continue;
            }
            try {
                channel.publish(message, outgoing, confirms);
            } catch (Exception e) {
                confirms.failed(message, BrokerErrors.reason(e),
                        "could not send to RabbitMQ: " + describeConnection(e));
            }
        }
    }

    /** A channel for one batch: an idle one, or a new one. */
    private ConfirmChannel channel() throws Exception {
        for (ConfirmChannel channel = idle.poll(); channel != null; channel = idle.poll()) {
            if (channel.usable()) {
                return channel;
            }
            channel.close();
        }
        return ConfirmChannel.open(connection(), exchange);
    }

    private void retire(ConfirmChannel channel) {
        if (closed) {
            channel.close();
        } else if (channel.usable()) {
            idle.offer(channel);
        } else {
            senders.execute(channel::close); // closing waits for the broker's answer: not on the caller's time
        }
    }

    /** The connection, opened now if it never was; a batch does not wait while another opens it. */
    private Connection connection() throws Exception {
        Connection current = connection;
        if (current != null) {
            return current;
        }
        if (!connecting.tryLock()) {
            throw new OutboxException("the connection to RabbitMQ at " + uri + " is being opened right now");
        }
        try {
            return openIfNever();
        } finally {
            connecting.unlock();
        }
    }

    /** Opens the connection unless it is open; the caller holds {@link #connecting}. */
    private Connection openIfNever() throws Exception {
        if (connection == null) {
            if (closed) { // the background attempt woke as close() came: open nothing after it
                throw new IllegalStateException("the RabbitMQ publisher for " + uri + " is closed");
            }
            Connection opened = open();
            connection = opened;
            if (closed) { // close() may have looked before it was set: one of the two closes it
                Connections.closeQuietly(opened, (int) timeout.toMillis());
            }
        }
        return connection;
    }

    /**
     * Tries to open the connection every {@link #recoveryInterval}, on a thread of its own, until it
     * is open or the publisher closed: the client reopens a connection it lost, but not one it never
     * had, and a health check must see the broker back without waiting for a batch.
     */
    private void keepConnecting(String firstFailure) {
        Thread thread = new Thread(() -> {
            String lastFailure = firstFailure;
            try {
                while (connection == null && !closing.await(recoveryInterval.toMillis(), TimeUnit.MILLISECONDS)) {
                    connecting.lockInterruptibly();
                    try {
                        openIfNever();
                    } catch (Exception e) {
                        if (closed) {
                            return;
                        }
                        String failure = BrokerErrors.describe(e);
                        if (!failure.equals(lastFailure)) { // each try that fails alike would flood the log
                            LOG.warn("RabbitMQ publisher cannot connect to {} ({}); trying again every {} ms", uri,
                                    failure, recoveryInterval.toMillis());
                        }
                        lastFailure = failure;
                    } finally {
                        connecting.unlock();
                    }
                }
            } catch (InterruptedException e) {
                // a thread of the publisher's own: interrupted only to end
            }
        }, "outbox-rabbitmq-connect-" + THREADS.incrementAndGet());
        thread.setDaemon(true);
        thread.start();
    }

    private Connection open() throws Exception {
        Connection opened = factory.newConnection("outbox-rabbitmq publisher");
        try {
            ConfirmChannel.open(opened, exchange).close();
        } catch (Exception e) {
            Connections.closeQuietly(opened, (int) timeout.toMillis());
            throw e;
        }
        opened.addShutdownListener(cause -> {
            blockedBecause = null; // a new connection starts unblocked
            if (!closed) {
                LOG.warn("RabbitMQ connection to {} lost ({}); reopening it every {} ms, batches fail meanwhile", uri,
                        BrokerErrors.describe(cause), recoveryInterval.toMillis());
            }
        });
        ((Recoverable) opened).addRecoveryListener(new RecoveryListener() {
            @Override
            public void handleRecovery(com.rabbitmq.client.Recoverable recoverable) {
                LOG.info("RabbitMQ connection to {} reopened", uri);
            }

            @Override
            public void handleRecoveryStarted(com.rabbitmq.client.Recoverable recoverable) {
                // the shutdown listener said it
            }
        });
        opened.addBlockedListener(reason -> {
            blockedBecause = reason;
            LOG.warn("RabbitMQ at {} blocks publishing: {}", uri, reason);
        }, () -> {
            blockedBecause = null;
            LOG.info("RabbitMQ at {} accepts messages again", uri);
        });
        LOG.info("RabbitMQ publisher connected to {}, exchange '{}' (durable topic), confirm timeout {} ms", uri, exchange,
                timeout.toMillis());
        return opened;
    }

    private String describeConnection(Exception e) {
        Connection current = connection;
        String why = BrokerErrors.describe(e);
        if (current != null && !current.isOpen()) {
            return "the connection is down (" + why + "); the client reopens it every " + recoveryInterval.toMillis() + " ms";
        }
        return why;
    }

    /** Closes the connection; a batch still waiting fails its unconfirmed messages. Calling it again does nothing. */
    @Override
    public void close() {
        if (shutDown()) {
            LOG.info("RabbitMQ publisher to {} closed", uri);
        }
    }

    private boolean shutDown() {
        if (closed) {
            return false;
        }
        closed = true;
        closing.countDown();
        Connections.closeQuietly(connection, (int) timeout.toMillis());
        senders.shutdownNow();
        return true;
    }

    /** The broker's URI without its password, and the exchange. */
    @Override
    public String toString() {
        return "RabbitMqPublisher[" + uri + ", exchange " + exchange + "]";
    }

    /**
     * Configures a {@link RabbitMqPublisher}. Every option has a named default; {@link #build()}
     * checks them, naming the option at fault and its allowed values. Not thread-safe; the built
     * publisher is.
     */
    public static final class Builder {
        private final String uri;
        private String exchange = DEFAULT_EXCHANGE;
        private Duration timeout = DEFAULT_TIMEOUT;
        private int maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
        private Duration recoveryInterval = DEFAULT_RECOVERY_INTERVAL;

        private Builder(String uri) {
            this.uri = uri;
        }

        /**
         * The exchange to publish to, declared as a durable topic exchange if absent: 1 to 255 bytes
         * of UTF-8, not starting with {@code amq.} (RabbitMQ's own); default {@value #DEFAULT_EXCHANGE}.
         */
        public Builder exchange(String exchange) {
            this.exchange = exchange;
            return this;
        }

        /**
         * How long a batch waits for its confirms, and the bound of each step of the client
         * (connect, a channel's request): 1 ms to 10 minutes, default 10 seconds. Keep it well
         * below the poller's lease.
         */
        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        /**
         * The largest payload sent, in bytes: 1 to 512 MiB (RabbitMQ's own ceiling), default 16
         * MiB. Set it no higher than the broker's {@code max_message_size}, so that a message too
         * large fails alone here instead of closing the channel under its whole batch.
         */
        public Builder maxMessageBytes(int maxMessageBytes) {
            this.maxMessageBytes = maxMessageBytes;
            return this;
        }

        /** How often the client tries to reopen a lost connection: 10 ms to 10 minutes, default 5 seconds. */
        public Builder recoveryInterval(Duration recoveryInterval) {
            this.recoveryInterval = recoveryInterval;
            return this;
        }

        /**
         * Checks the options, connects, and declares the exchange.
         *
         * @throws InvalidOptionException naming an option that is missing or out of range
         * @throws OutboxException when the broker refused the connection for good (credentials,
         *                         virtual host, permissions, an exchange of that name of another
         *                         type); a broker that cannot be reached is only logged, and tried
         *                         again every {@link #recoveryInterval} and by each batch
         */
        public RabbitMqPublisher build() {
            AmqpUri parsed = AmqpUri.parse("uri", uri);
            Options.requireName("exchange", exchange);
            Options.requireBetween("timeout", timeout, Duration.ofMillis(1), Duration.ofMinutes(10));
            Options.requireBetween("recoveryInterval", recoveryInterval, Duration.ofMillis(10), Duration.ofMinutes(10));
            Options.requireBetween("maxMessageBytes", maxMessageBytes, 1, Options.RABBITMQ_MAX_MESSAGE_BYTES);
            RabbitMqPublisher publisher = new RabbitMqPublisher(this, parsed);
            try {
                publisher.connection();
            } catch (Exception e) {
                if (BrokerErrors.isPermanent(e)) {
                    publisher.shutDown();
                    throw new OutboxException("RabbitMQ publisher cannot start: " + parsed + " (exchange '" + exchange
                            + "'): " + BrokerErrors.describe(e), e);
                }
                String failure = BrokerErrors.describe(e);
                LOG.warn("RabbitMQ at {} cannot be reached now ({}); trying again every {} ms", parsed, failure,
                        recoveryInterval.toMillis());
                publisher.keepConnecting(failure);
            }
            return publisher;
        }
    }
}
