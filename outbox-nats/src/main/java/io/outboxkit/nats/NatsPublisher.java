package io.outboxkit.nats;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.PublishOptions;
import io.nats.client.api.PublishAck;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.spi.Causes;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.core.spi.PublishException;
import io.outboxkit.core.spi.TransportHeaders;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes outbox messages to a NATS JetStream stream; a message counts as delivered only when the
 * stream acknowledged storing it.
 *
 * <p><b>What a message looks like on NATS.</b> Subject {@code <prefix>.<aggregate type>.<event type>}
 * (prefix {@value #DEFAULT_SUBJECT_PREFIX} unless set), each type one subject token: ASCII letters,
 * digits, {@code -} and {@code _} as they are, every other byte of the type's UTF-8 form as
 * {@code %XX} ({@code order.v2} becomes {@code order%2Ev2}, a space {@code %20}), so a dot, wildcard
 * or space in a type never changes the subject's structure. Headers: the envelope of
 * {@link TransportHeaders} ({@code id}, {@code sequence}, {@code aggregate_type},
 * {@code aggregate_id}, {@code event_type}, {@code created_at}), then the message's own headers,
 * then {@code Nats-Msg-Id} = the message id (for a message an operator requeued, the id, a dot and
 * its {@link io.outboxkit.core.OutboxAdmin#REQUEUED_AT_HEADER}) and {@code Nats-Expected-Stream} = the stream (so a
 * subject another stream takes is refused; the server keeps it on the message). Body: the payload, JSON text in UTF-8 (NATS has no
 * content type). NATS headers carry ASCII only: a message with a header value NATS cannot carry,
 * a header name starting with {@code Nats-}, or a size over the server's {@code max_payload} fails
 * alone with an error saying so; for a value NATS would trim, the error gives the statement that
 * repairs the message's row in the outbox {@link Builder#outbox(OutboxNames)} names.
 *
 * <p><b>Confirmation and duplicates.</b> A batch is published asynchronously as a whole; each
 * message is delivered once the stream's publish acknowledgement for it arrives (one marked
 * duplicate too: the stream already holds it). A refusal, an error or no acknowledgement within
 * {@link Builder#publishTimeout(Duration) publishTimeout} fails that message alone. A message
 * published again, after a relay crashed between the stream's acknowledgement and the outbox's
 * record of it, or after a timeout whose publish did arrive, is dropped by the stream when it comes
 * within the stream's duplicate window ({@link Builder#duplicateWindow(Duration)}, set when this
 * publisher creates the stream); later than that the stream holds it twice and the consumer's
 * idempotent handler skips the second. An operator's requeue is not such a copy: its
 * {@code Nats-Msg-Id} differs, and the stream stores it whenever it comes.
 *
 * <p><b>Retention.</b> A stream this publisher creates removes each message
 * {@link Builder#maxAge(Duration) maxAge} (7 days unless set) after storing it, whether consumers
 * acknowledged it or not, so that it does not grow for as long as the system runs; a consumer
 * down for longer loses what aged out meanwhile. An existing stream keeps its own limits.
 *
 * <p><b>Order.</b> The outbox poller hands over at most one message per aggregate per batch when it
 * keeps order, and the next only after this one was acknowledged; the stream stores them in that
 * order, so they reach a consumer in order.
 *
 * <p><b>Connection.</b> It connects in {@link Builder#build()} and then reconnects by itself,
 * forever, waiting {@link Builder#reconnectWait(Duration) reconnectWait} between rounds; while it is
 * disconnected every message fails at once with an error that says so, and nothing is buffered.
 * Once {@link #close() closed}, it never reconnects: {@link #publishAll} throws an
 * {@link IllegalStateException} saying so, as the Kafka and RabbitMQ publishers do.
 * Credentials in the URL are given to the client apart from it and never logged.
 *
 * <p>Immutable and thread-safe; {@link #close()} closes the connection.
 */
public final class NatsPublisher implements MessagePublisher, AutoCloseable {

    /** The stream unless set: {@value}. */
    public static final String DEFAULT_STREAM = "OUTBOX";
    /** The first token(s) of every subject unless set: {@value}; the stream takes {@code outbox.>}. */
    public static final String DEFAULT_SUBJECT_PREFIX = "outbox";
    /**
     * How long the stream remembers a message id to drop a re-publish, when this publisher creates the
     * stream: 2 minutes (JetStream's own default), longer than the poller's 30-second lease after
     * which a crashed relay's messages are published again.
     */
    public static final Duration DEFAULT_DUPLICATE_WINDOW = Duration.ofMinutes(2);
    /**
     * How long the stream keeps a message, when this publisher creates the stream: 7 days (Kafka's
     * default retention). Acknowledged messages are never needed again; one a consumer has not
     * acknowledged when it ages out is lost to that consumer.
     */
    public static final Duration DEFAULT_MAX_AGE = Duration.ofDays(7);
    /** How long a batch waits for its acknowledgements: 10 seconds, well below the poller's 30-second lease. */
    public static final Duration DEFAULT_PUBLISH_TIMEOUT = Duration.ofSeconds(10);
    /** How long connecting to one server may take: 5 seconds. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** The wait between two rounds of reconnection attempts: 1 second. */
    public static final Duration DEFAULT_RECONNECT_WAIT = Duration.ofSeconds(1);
    /** The name on the connection and in log lines unless set: {@value}. */
    public static final String DEFAULT_NAME = "outbox-nats-publisher";

    private static final Logger LOG = LoggerFactory.getLogger(NatsPublisher.class);
    private static final Duration CLOSE_FLUSH = Duration.ofSeconds(2);

    private final String name;
    private final NatsServers servers;
    private final String stream;
    private final String subjectPrefix;
    private final OutboxNames outbox;
    private final Duration duplicateWindow;
    private final Duration publishTimeout;
    private final Connection connection;
    private final JetStream jetStream;
    private final PublishOptions options;

    /**
     * A publisher on {@code connection}, open and with the stream made sure of ({@link Builder#build()}
     * does both); package-private so a test can hand it a wrapped connection.
     */
    NatsPublisher(Builder builder, NatsServers servers, Connection connection, Duration duplicateWindow)
            throws IOException {
        this.name = builder.name;
        this.servers = servers;
        this.stream = builder.stream;
        this.subjectPrefix = builder.subjectPrefix;
        this.outbox = builder.outbox;
        this.duplicateWindow = duplicateWindow;
        this.publishTimeout = builder.publishTimeout;
        this.connection = connection;
        this.jetStream = connection.jetStream();
        this.options = PublishOptions.builder().expectedStream(stream).build();
    }

    /**
     * A builder for a publisher to {@code servers}: one or more comma-separated URLs
     * {@code nats://[user:password@|token@]host[:port]} ({@code tls://} for TLS), the port 4222 unless
     * given. Checked in {@link Builder#build()}.
     */
    public static Builder builder(String servers) {
        return new Builder(servers);
    }

    /**
     * Publishes the batch asynchronously and waits, at most {@code publishTimeout} for the whole
     * batch, for each message's acknowledgement from the stream.
     *
     * @return the messages not acknowledged, each with an error an operator can act on; every other
     *     message of the batch is stored in the stream (or was already, within the duplicate window)
     * @throws InterruptedException when interrupted while waiting; the outcome is then unknown
     * @throws IllegalStateException when the publisher was closed
     */
    @Override
    public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
        // The connection reconnects forever (maxReconnects -1), so only close() leaves it CLOSED, never to come back:
        // a failure per message saying it reconnects by itself would have the operator wait for nothing.
        if (connection.getStatus() == Connection.Status.CLOSED) {
            throw new IllegalStateException("NatsPublisher " + name + " is closed");
        }
        long deadline = System.nanoTime() + publishTimeout.toNanos();
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        List<Sent> sent = new ArrayList<>(batch.size());
        for (OutboxMessage message : batch) {
            Connection.Status status = connection.getStatus();
            if (status != Connection.Status.CONNECTED) {
                String why = status == Connection.Status.CLOSED
                        ? "not published: NatsPublisher " + name + " was closed during the batch"
                        : "not published: the connection to NATS at " + servers + " is " + status
                                + " (it reconnects by itself; the message is retried)";
                failures.put(message.id(), new PublishException(FailureReason.UNAVAILABLE, why));
                continue;
            }
            try {
                sent.add(new Sent(message, jetStream.publishAsync(toNats(message), options)));
            } catch (IllegalArgumentException e) {
                failures.put(message.id(), new OutboxException("not published: " + e.getMessage(), e));
            } catch (RuntimeException e) {
                failures.put(message.id(), publishFailure(e));
            }
        }
        for (Sent one : sent) {
            Exception failure = awaitAck(one, deadline);
            if (failure != null) {
                failures.put(one.message().id(), failure);
            }
        }
        return failures;
    }

    /**
     * Why publishAsync threw: the connection leaving CONNECTED between the status check and the
     * publish (it throws then too) is the broker out of reach, not a refusal of the message.
     */
    private Exception publishFailure(RuntimeException e) {
        String why = "not published to NATS at " + servers + ": " + NatsConnector.describe(e);
        Connection.Status status = connection.getStatus();
        if (status != Connection.Status.CONNECTED) {
            return new PublishException(FailureReason.UNAVAILABLE, why + " (the connection is " + status + ")", e);
        }
        return new OutboxException(why, e);
    }

    /**
     * As {@link #publishAll} for one message: returns once the stream acknowledged it.
     *
     * @throws IllegalStateException when the publisher was closed
     */
    @Override
    public void publish(OutboxMessage message) throws Exception {
        Exception failure = publishAll(List.of(message)).get(message.id());
        if (failure != null) {
            throw failure;
        }
    }

    private record Sent(OutboxMessage message, CompletableFuture<PublishAck> ack) {
    }

    private Exception awaitAck(Sent one, long deadline) throws InterruptedException {
        UUID id = one.message().id();
        try {
            PublishAck ack = one.ack().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            LOG.debug("[{}] message {} stored in stream {} at sequence {}{}", name, id, ack.getStream(), ack.getSeqno(),
                    ack.isDuplicate() ? " (a duplicate: stored before)" : "");
            return null;
        } catch (TimeoutException e) {
            one.ack().cancel(true);
            return new PublishException(FailureReason.TIMEOUT, "no acknowledgement from NATS stream " + stream + " within " + publishTimeout
                    + " (connection " + connection.getStatus() + ", " + servers + "): the message may or may not be "
                    + "stored; it is retried, and the stream drops a copy within its duplicate window (" + duplicateWindow + ")");
        } catch (ExecutionException | CancellationException e) {
            return refusal(e instanceof ExecutionException ? e.getCause() : e);
        }
    }

    private Exception refusal(Throwable cause) {
        Throwable root = cause;
        for (int depth = 0; (root instanceof RuntimeException || root instanceof ExecutionException) && root.getCause() != null
                && depth < Causes.MAX_DEPTH; depth++) { // bounded: a chain may be a cycle
            root = root.getCause();
        }
        if (root instanceof JetStreamApiException api) {
            return new OutboxException("NATS stream " + stream + " refused the message: " + api.getErrorDescription()
                    + " (JetStream error " + api.getApiErrorCode() + ")", api);
        }
        String text = NatsConnector.describe(root);
        if (text.contains("503")) {
            return new OutboxException("no NATS stream takes the message's subject (503 no responders): was stream "
                    + stream + " deleted? " + text, root);
        }
        return new OutboxException("not acknowledged by NATS stream " + stream + ": " + text, root);
    }

    private NatsMessage toNats(OutboxMessage message) {
        Headers headers = NatsHeaders.of(message, outbox);
        byte[] body = message.payload().getBytes(StandardCharsets.UTF_8);
        long size = NatsHeaders.publishedSize(body, headers, stream);
        long max = connection.getMaxPayload();
        if (max > 0 && size > max) {
            throw new IllegalArgumentException("the message is " + size + " bytes with its headers, over the NATS "
                    + "server's max_payload of " + max + " bytes");
        }
        return NatsMessage.builder()
                .subject(Subjects.of(subjectPrefix, message.aggregateType(), message.eventType()))
                .headers(headers)
                .data(body)
                .build();
    }

    /** Whether the connection to NATS is up (for a health check); while it is not, every message fails. */
    @Override
    public boolean isConnected() {
        return connection.getStatus() == Connection.Status.CONNECTED;
    }

    /** The subject a message is published on (see the class comment for the mapping). */
    public String subjectOf(OutboxMessage message) {
        return Subjects.of(subjectPrefix, message.aggregateType(), message.eventType());
    }

    /** {@code nats}, for the poller's PRODUCER spans ({@code messaging.system}). */
    @Override
    public String messagingSystem() {
        return "nats";
    }

    /** {@code publish}, NATS' name for the operation. */
    @Override
    public String operationName() {
        return "publish";
    }

    /** The subject: the span's {@code messaging.destination.name} (one per aggregate and event type). */
    @Override
    public String destinationName(OutboxMessage message) {
        return subjectOf(message);
    }

    /** The stream's duplicate window: how long after a message a re-publish of it is dropped. */
    public Duration duplicateWindow() {
        return duplicateWindow;
    }

    /** Flushes what was sent and closes the connection. Calling it again does nothing. */
    @Override
    public void close() {
        if (connection.getStatus() == Connection.Status.CLOSED) {
            return;
        }
        try {
            if (connection.getStatus() == Connection.Status.CONNECTED) {
                connection.flush(CLOSE_FLUSH);
            }
        } catch (TimeoutException | RuntimeException e) {
            LOG.debug("[{}] flush before close failed: {}", name, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            connection.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("[{}] closed", name);
    }

    /** The servers (never a password), stream and subjects. */
    @Override
    public String toString() {
        return "NatsPublisher[" + name + ", servers=" + servers + ", stream=" + stream + ", subjects=" + subjectPrefix + ".>]";
    }

    /**
     * Options of a {@link NatsPublisher}, each with a default ({@code DEFAULT_*} on the publisher),
     * checked in {@link #build()}. Not thread-safe; build once.
     */
    public static final class Builder {

        private final String servers;
        private String name = DEFAULT_NAME;
        private String stream = DEFAULT_STREAM;
        private String subjectPrefix = DEFAULT_SUBJECT_PREFIX;
        private OutboxNames outbox = OutboxNames.DEFAULT;
        private Duration duplicateWindow = DEFAULT_DUPLICATE_WINDOW;
        private Duration maxAge = DEFAULT_MAX_AGE;
        private Duration publishTimeout = DEFAULT_PUBLISH_TIMEOUT;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration reconnectWait = DEFAULT_RECONNECT_WAIT;

        private Builder(String servers) {
            this.servers = servers;
        }

        /** The name on the connection and in log lines; default {@value #DEFAULT_NAME}. */
        public Builder name(String name) {
            this.name = name;
            return this;
        }

        /**
         * The stream, created if absent (file storage, subjects {@code <subjectPrefix>.>}, the
         * {@link #maxAge(Duration) maxAge}); an existing one must take those subjects. Default
         * {@value #DEFAULT_STREAM}.
         */
        public Builder stream(String stream) {
            this.stream = stream;
            return this;
        }

        /** The first token(s) of every subject, e.g. {@code outbox} or {@code shop.outbox}; default {@value #DEFAULT_SUBJECT_PREFIX}. */
        public Builder subjectPrefix(String subjectPrefix) {
            this.subjectPrefix = subjectPrefix;
            return this;
        }

        /**
         * The names of the outbox whose messages this publisher is handed; default
         * {@link OutboxNames#DEFAULT}. The publisher never touches the database: the names go
         * only into the repair statement an error gives for a message NATS would change, so that
         * the statement updates that outbox's table (quoted, and qualified by its schema when set).
         */
        public Builder outbox(OutboxNames outbox) {
            this.outbox = outbox;
            return this;
        }

        /**
         * The duplicate window of a stream this publisher creates (an existing stream keeps its own; a
         * different one is logged as a warning); default 2 minutes. Make it longer than the poller's
         * lease plus the time a crashed relay takes to come back, so that its re-publish is dropped.
         */
        public Builder duplicateWindow(Duration duplicateWindow) {
            this.duplicateWindow = duplicateWindow;
            return this;
        }

        /**
         * How long a stream this publisher creates keeps a message before removing it, acknowledged or
         * not: 1 minute to 3650 days and at least the duplicate window, or zero to keep every message
         * for ever (the stream, and the server's disk, then grow for as long as messages are
         * published); default 7 days. Make it longer than any consumer may be down or fall behind: a
         * message it has not acknowledged when it ages out is lost to it. An existing stream keeps its
         * own limits (one with none at all is logged as a warning).
         */
        public Builder maxAge(Duration maxAge) {
            this.maxAge = maxAge;
            return this;
        }

        /** How long a batch waits for its acknowledgements; default 10 seconds. Keep it well below the poller's lease. */
        public Builder publishTimeout(Duration publishTimeout) {
            this.publishTimeout = publishTimeout;
            return this;
        }

        /** How long connecting to one server may take; default 5 seconds. */
        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = connectTimeout;
            return this;
        }

        /** The wait between two rounds of reconnection attempts; default 1 second. */
        public Builder reconnectWait(Duration reconnectWait) {
            this.reconnectWait = reconnectWait;
            return this;
        }

        /**
         * Checks every option, connects, and makes sure the stream exists.
         *
         * @throws InvalidOptionException naming an option that is wrong and what it may be
         * @throws OutboxException          when NATS cannot be reached, refuses the credentials, or the
         *                                  stream cannot be used; the message names the servers (never a
         *                                  password) and the cause
         */
        public NatsPublisher build() {
            NatsServers parsed = NatsServers.parse("servers", servers);
            Checks.names(this.name, stream, subjectPrefix);
            if (outbox == null) {
                throw new InvalidOptionException("outbox", "outbox must not be null: give OutboxNames.DEFAULT for the "
                        + "default names");
            }
            Checks.between("publishTimeout", publishTimeout, Duration.ofMillis(1), Duration.ofMinutes(5));
            Checks.connection(duplicateWindow, connectTimeout, reconnectWait);
            Checks.maxAge(maxAge, duplicateWindow);
            Connection connection = NatsConnector.connect(name, parsed, connectTimeout, reconnectWait, LOG);
            try {
                Duration window = Streams.ensure(connection.jetStreamManagement(), name, stream, subjectPrefix + ".>",
                        duplicateWindow, maxAge, LOG);
                NatsPublisher publisher = new NatsPublisher(this, parsed, connection, window);
                LOG.info("[{}] started: servers={}, stream={}, subjects={}.>, duplicateWindow={}, publishTimeout={}", name,
                        parsed, stream, subjectPrefix, window, publishTimeout);
                return publisher;
            } catch (IOException | RuntimeException e) {
                closeQuietly(connection);
                if (e instanceof OutboxException outbox) {
                    throw outbox;
                }
                throw new OutboxException("[" + name + "] cannot use JetStream at " + parsed + ": "
                        + NatsConnector.describe(e), e);
            }
        }
    }

    static void closeQuietly(Connection connection) {
        try {
            connection.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
