package io.outboxkit.app.delivery;

import io.outboxkit.app.MessageEnvelope;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.core.spi.NotSentException;
import io.outboxkit.core.spi.PublishException;
import io.outboxkit.core.spi.Texts;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Delivers outbox messages to a consumer over HTTP, as {@link Delivery} says: the relay's
 * {@link MessagePublisher}, and {@link #deliverOnce} for a tool that sends one message and reads
 * the answer. Built by {@link #builder}.
 *
 * <p>{@link Delivery#BATCH} (the default): the claimed batch is POSTed as {@code {"messages": [...]}}
 * to the consumer's batch endpoint ({@code CONSUMER_URL + "/batch"}), cut into requests of at
 * most 1,000 messages and about 512 KiB, sent concurrently (at most {@code maxInFlight}). A 2xx
 * answer reports each message: "processed" or "duplicate" is a delivery, "failed" or no report a
 * failure of that message alone; any other status, a refused connection or a timeout fails every
 * message of the request.
 *
 * <p>{@link Delivery#SINGLE}: POSTs each message's envelope as JSON to the consumer, with its id
 * in a {@code Message-Id} header and its trace context (the poller's PRODUCER span, when tracing is
 * on) in the {@code traceparent} and {@code tracestate} headers. A 2xx answer is a delivery, unless its
 * body says otherwise (a JSON {@code status} other than processed or duplicate, or an HTML page); any
 * other status, a refused connection or a timeout is a failure whose message says which.
 *
 * <p>Requests are sent concurrently, at most {@code maxInFlight} at a time, counted over every
 * batch being delivered (safe: with ordering on, a batch holds at most one message per aggregate).
 * A request waits for its turn only while it could still end within the lease; one that could no
 * longer, whether it waited behind its own batch's requests or another worker's, is not sent and
 * fails as "not sent", so a slow consumer does not make deliveries outlive their claim (which
 * would let another relay deliver the message again). After {@link #stopSending()} (a relay that
 * is stopping) no request starts: the requests not yet sent are reported at once as not sent
 * (given back to the outbox without spending an attempt), and only those already sent are
 * awaited. Thread-safe; {@link #close()} releases the client's threads.
 */
public final class HttpPublisher implements MessagePublisher, AutoCloseable {

    /** The default delivery: a batch per request. */
    public static final Delivery DEFAULT_DELIVERY = Delivery.BATCH;
    /** The default timeout: 5 seconds. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    /** The default number of requests in flight at once. */
    public static final int DEFAULT_MAX_IN_FLIGHT = 16;

    /** The messaging system this publisher names in traces: plain HTTP. */
    public static final String MESSAGING_SYSTEM = "http";

    /** How much of a failing answer's body is kept in the error. */
    static final int MAX_BODY_IN_ERROR = 200;
    /** The start of an HTML page, after any whitespace. */
    private static final Pattern HTML = Pattern.compile("\\s*<(?:!doctype\\s+html|html)[\\s>]", Pattern.CASE_INSENSITIVE);

    private final URI endpoint;
    private final URI batchEndpoint;
    private final Delivery delivery;
    private final Duration timeout;
    private final Duration lease;
    private final int maxInFlight;
    private final Semaphore inFlight;
    private final HttpTransport transport;
    /** Set by {@link #stopSending()}: no request starts any more. */
    private volatile boolean stopping;

    private HttpPublisher(URI endpoint, Delivery delivery, Duration timeout, Duration lease, int maxInFlight) {
        this.endpoint = endpoint;
        this.batchEndpoint = BatchRequests.batchEndpoint(endpoint);
        this.delivery = delivery;
        this.timeout = timeout;
        this.lease = lease;
        this.maxInFlight = maxInFlight;
        this.inFlight = new Semaphore(maxInFlight);
        this.transport = new HttpTransport(timeout, maxInFlight);
    }

    /** A builder for a publisher that delivers to {@code consumerUrl}, with every other setting at its default. */
    public static Builder builder(URI consumerUrl) {
        return new Builder(consumerUrl);
    }

    /**
     * Delivers {@code message} alone, as single delivery does, and returns normally once the
     * consumer answered 2xx.
     *
     * @throws DeliveryException when it did not: another status, a refused connection, a timeout
     */
    @Override
    public void publish(OutboxMessage message) throws Exception {
        Exception failure = await(deliver(message));
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Delivers {@code batch} as {@link Delivery} says, its requests concurrently, and returns the
     * messages that failed, each with a {@link DeliveryException} saying why.
     *
     * @throws InterruptedException when interrupted while waiting; the requests in flight are cancelled
     */
    @Override
    public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
        return delivery == Delivery.BATCH ? publishInBatches(batch) : publishEach(batch);
    }

    /** The batch in as few requests as the consumer's limits allow, sent concurrently. */
    private Map<UUID, Exception> publishInBatches(List<OutboxMessage> batch) throws InterruptedException {
        long latestStart = System.nanoTime() + latestStartAfterClaim().toNanos();
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        List<BatchRequests.Request> requests = BatchRequests.split(batch, failures);
        // A list, not a map keyed by the request: a record's hashCode would hash every message of it.
        List<Map.Entry<BatchRequests.Request, CompletableFuture<Map<UUID, Exception>>>> deliveries = new ArrayList<>();
        try {
            for (BatchRequests.Request request : requests) {
                if (!startInTime(deliveries.size(), latestStart)) {
                    failures.putAll(BatchRequests.allFailed(request.messages(), notSent()));
                    continue;
                }
                CompletableFuture<Map<UUID, Exception>> delivery = deliver(request, requests.size() == 1);
                delivery.whenComplete((outcome, error) -> inFlight.release());
                deliveries.add(Map.entry(request, delivery));
            }
            for (Map.Entry<BatchRequests.Request, CompletableFuture<Map<UUID, Exception>>> delivery : deliveries) {
                failures.putAll(awaitAll(delivery.getKey(), delivery.getValue()));
            }
            return failures;
        } catch (InterruptedException e) {
            deliveries.forEach(d -> d.getValue().cancel(true));
            throw e;
        }
    }

    /** One request per message, sent concurrently. */
    private Map<UUID, Exception> publishEach(List<OutboxMessage> batch) throws InterruptedException {
        long latestStart = System.nanoTime() + latestStartAfterClaim().toNanos();
        Map<UUID, CompletableFuture<Exception>> deliveries = new LinkedHashMap<>();
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        try {
            for (OutboxMessage message : batch) {
                if (!startInTime(deliveries.size(), latestStart)) {
                    failures.put(message.id(), notSent());
                    continue;
                }
                CompletableFuture<Exception> delivery = deliver(message);
                delivery.whenComplete((outcome, error) -> inFlight.release());
                deliveries.put(message.id(), delivery);
            }
            for (Map.Entry<UUID, CompletableFuture<Exception>> delivery : deliveries.entrySet()) {
                Exception failure = await(delivery.getValue());
                if (failure != null) {
                    failures.put(delivery.getKey(), failure);
                }
            }
            return failures;
        } catch (InterruptedException e) {
            deliveries.values().forEach(d -> d.cancel(true));
            throw e;
        }
    }

    /**
     * Sends {@code message} alone, once, as single delivery does (its envelope to the consumer's
     * URL, its id in the {@value DeliveryProtocol#MESSAGE_ID_HEADER} header), on the calling thread,
     * and returns the consumer's answer whatever its status. Never retries. For a tool that must
     * read the answer; a poller calls {@link #publishAll}.
     *
     * @throws DeliveryException when no answer came (the connection failed, or the timeout passed),
     *                           saying which and naming the consumer's URL
     */
    public ConsumerAnswer deliverOnce(OutboxMessage message) throws DeliveryException {
        byte[] body = envelope(message);
        try {
            return transport.postHere(endpoint, body, message).join();
        } catch (CompletionException | CancellationException e) {
            throw transport.failure(endpoint, e);
        }
    }

    /** {@value #MESSAGING_SYSTEM}: the PRODUCER spans' {@code messaging.system}. */
    @Override
    public String messagingSystem() {
        return MESSAGING_SYSTEM;
    }

    /**
     * Starts no request from now on, for a relay that is stopping: a batch's requests not yet sent,
     * and those of any later batch, are reported at once as not sent ({@link NotSentException}:
     * the poller gives them back uncounted, for another relay to claim within its poll interval),
     * so that the batch in flight ends as soon as its requests already sent have, each within the
     * timeout. Otherwise they would be sent one round after another, up to the lease,
     * and a hung consumer would hold the stop that long.
     * Calling it again does nothing; {@link #deliverOnce} is not affected.
     */
    public void stopSending() {
        if (stopping) {
            return;
        }
        stopping = true;
        // Wakes a request waiting for a permit: it finds the publisher stopping and hands the
        // permit on to the next one waiting, so no waiter is left to wait out the lease.
        inFlight.release();
    }

    /** Closes the connections and releases the threads; deliveries still running fail. */
    @Override
    public void close() {
        transport.close();
    }

    /**
     * Takes a permit for a batch's next request, {@code started} of its requests being under way,
     * only while the request can still end within the lease. One of the batch's first
     * {@code maxInFlight} takes a free permit even past {@code latestStart}: it starts as soon as
     * its batch, which the lease outlasts (it exceeds the timeout). Any request waits for a permit
     * only until {@code latestStart}: the permits are shared by every batch being delivered (the
     * relay's WORKERS), so even a batch's first request may find them all taken, and one that
     * waited longer could still be running when the lease ends and another poller claims and
     * delivers its messages again. None is taken once {@link #stopSending()} was called.
     *
     * @return whether a permit was taken; if not, the request must not be sent
     */
    private boolean startInTime(int started, long latestStart) throws InterruptedException {
        if (stopping) {
            return false;
        }
        if (started < maxInFlight && inFlight.tryAcquire()) {
            return startsUnlessStopping();
        }
        long wait = latestStart - System.nanoTime();
        return wait > 0 && inFlight.tryAcquire(wait, TimeUnit.NANOSECONDS) && startsUnlessStopping();
    }

    /** With a permit taken: true, unless {@link #stopSending()} was called, which gets the permit back (see there). */
    private boolean startsUnlessStopping() {
        if (stopping) {
            inFlight.release();
            return false;
        }
        return true;
    }

    /** The failure of a message whose request was not sent, as {@link #startInTime} decided. */
    private PublishException notSent() {
        if (stopping) {
            return new NotSentException("not sent: the relay is stopping (it waits only for the requests already sent)");
        }
        return new DeliveryException(FailureReason.TIMEOUT, "not sent: it could no longer be delivered within the lease of "
                + lease.toMillis() + " ms (the consumer is slow, and MAX_IN_FLIGHT requests are shared by all WORKERS; "
                + "lower BATCH_SIZE or raise MAX_IN_FLIGHT or LEASE_MS)");
    }

    /**
     * How long after the claim a request may still start: it then times out before the lease
     * ends, with a margin (up to a second) for recording the outcome.
     */
    private Duration latestStartAfterClaim() {
        long spare = Math.max(0, lease.toMillis() - timeout.toMillis());
        return Duration.ofMillis(spare - Math.min(1_000, spare / 2));
    }

    /** Starts one delivery; the future holds null on success, else the failure. Never completes exceptionally. */
    private CompletableFuture<Exception> deliver(OutboxMessage message) {
        byte[] body;
        try {
            body = envelope(message);
        } catch (DeliveryException e) {
            return CompletableFuture.completedFuture(e);
        }
        return transport.post(endpoint, body, message)
                .handle((answer, error) -> error != null ? transport.failure(endpoint, error) : singleFailure(endpoint, answer));
    }

    /** The envelope a batch carries, on its own. */
    private static byte[] envelope(OutboxMessage message) throws DeliveryException {
        try {
            return MessageEnvelope.toBytes(message);
        } catch (IOException | RuntimeException e) {
            throw new DeliveryException(FailureReason.REFUSED, "cannot serialize message " + message.id() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Starts one batch request, or runs it on this thread when {@code here} (the batch's only
     * request); the future holds the failures by id. Never completes exceptionally.
     */
    private CompletableFuture<Map<UUID, Exception>> deliver(BatchRequests.Request batch, boolean here) {
        CompletableFuture<ConsumerAnswer> exchange = here ? transport.postHere(batchEndpoint, batch.body(), null)
                : transport.post(batchEndpoint, batch.body(), null);
        return exchange.handle((answer, error) -> {
            if (error != null) {
                return BatchRequests.allFailed(batch.messages(), transport.failure(batchEndpoint, error));
            }
            Exception failure = failure(batchEndpoint, answer);
            return failure == null ? BatchRequests.failures(batch.messages(), answer.body(), batchEndpoint)
                    : BatchRequests.allFailed(batch.messages(), failure);
        });
    }

    /**
     * Null for a single delivery's answer that is one: a 2xx, as any HTTP endpoint may answer, unless
     * it says otherwise. A JSON {@code status} other than processed or duplicate is the consumer's
     * refusal; an HTML page is no consumer's answer (CONSUMER_URL at a web server or a proxy's page),
     * and taking it for a delivery would mark every message PUBLISHED.
     */
    private static Exception singleFailure(URI endpoint, ConsumerAnswer answer) {
        Exception failure = failure(endpoint, answer);
        if (failure != null) {
            return failure;
        }
        String status = answer.reportedStatus().orElse(null);
        if (status != null && !DeliveryProtocol.PROCESSED.equals(status) && !DeliveryProtocol.DUPLICATE.equals(status)) {
            return new DeliveryException(FailureReason.REFUSED, "HTTP " + answer.status() + " from " + endpoint + " reports status "
                    + shorten(status) + ", not processed or duplicate" + answer.error().map(e -> ": " + shorten(e)).orElse(""));
        }
        if (HTML.matcher(answer.body()).lookingAt()) {
            return new DeliveryException(FailureReason.REFUSED, "HTTP " + answer.status() + " from " + endpoint
                    + " is an HTML page, not a consumer's answer: check CONSUMER_URL");
        }
        return null;
    }

    private static String shorten(String text) {
        return Texts.abbreviate(text, MAX_BODY_IN_ERROR);
    }

    /**
     * Null for a 2xx answer, else a failure naming the status and the start of the body: a 429, 502
     * or 503 (a rate limit's or the consumer's "try again shortly" while its database is down, or a
     * proxy with no consumer behind it) is {@link FailureReason#UNAVAILABLE} and a 408 or 504
     * {@link FailureReason#TIMEOUT}, so that the relay takes them for an outage (a full batch of them
     * holds its workers off), as when the consumer cannot be reached; any other status is the
     * consumer's {@link FailureReason#REFUSED refusal}.
     */
    private static Exception failure(URI endpoint, ConsumerAnswer answer) {
        if (answer.isSuccess()) {
            return null;
        }
        String body = shorten(answer.body().strip());
        FailureReason reason = switch (answer.status()) {
            case 429, 502, 503 -> FailureReason.UNAVAILABLE; // try again later: the receiving side, not the message
            case 408, 504 -> FailureReason.TIMEOUT;
            default -> FailureReason.REFUSED;
        };
        return new DeliveryException(reason, "HTTP " + answer.status() + " from " + endpoint + (body.isEmpty() ? "" : ": " + body));
    }

    private static Map<UUID, Exception> awaitAll(BatchRequests.Request request,
                                                 CompletableFuture<Map<UUID, Exception>> delivery)
            throws InterruptedException {
        try {
            return delivery.get();
        } catch (ExecutionException e) {
            return BatchRequests.allFailed(request.messages(), new DeliveryException("delivery failed: " + e.getCause(),
                    e.getCause()));
        } catch (CancellationException e) {
            return BatchRequests.allFailed(request.messages(), new DeliveryException("delivery cancelled", e));
        }
    }

    private static Exception await(CompletableFuture<Exception> delivery) throws InterruptedException {
        try {
            return delivery.get();
        } catch (ExecutionException e) {
            return new DeliveryException("delivery failed: " + e.getCause(), e.getCause());
        } catch (CancellationException e) {
            return new DeliveryException("delivery cancelled", e);
        }
    }

    /**
     * Settings for an {@link HttpPublisher}; {@link #build()} copies and checks them, so a setter
     * called afterwards changes nothing built. Not thread-safe.
     */
    public static final class Builder {

        private final URI consumerUrl;
        private Delivery delivery = DEFAULT_DELIVERY;
        private Duration timeout = DEFAULT_TIMEOUT;
        private Duration lease = OutboxPoller.DEFAULT_LEASE;
        private int maxInFlight = DEFAULT_MAX_IN_FLIGHT;

        private Builder(URI consumerUrl) {
            this.consumerUrl = Objects.requireNonNull(consumerUrl, "consumerUrl");
        }

        /** One request per batch (the default, {@link #DEFAULT_DELIVERY}) or per message. */
        public Builder delivery(Delivery delivery) {
            this.delivery = Objects.requireNonNull(delivery, "delivery");
            return this;
        }

        /**
         * The limit on connecting, on waiting for a pooled connection, and on each wait for the
         * answer; an exchange is abandoned a second past it whatever it is doing. Default
         * {@link #DEFAULT_TIMEOUT}.
         */
        public Builder timeout(Duration timeout) {
            this.timeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /**
         * The poller's lease: no request of a batch starts once it could no longer end within it.
         * Must exceed the timeout. Default {@link OutboxPoller#DEFAULT_LEASE}.
         */
        public Builder lease(Duration lease) {
            this.lease = Objects.requireNonNull(lease, "lease");
            return this;
        }

        /** Requests sent at once, and connections kept; default {@value #DEFAULT_MAX_IN_FLIGHT}. */
        public Builder maxInFlight(int maxInFlight) {
            this.maxInFlight = maxInFlight;
            return this;
        }

        /**
         * A publisher with these settings; close it to release its threads and connections.
         *
         * @throws IllegalArgumentException naming the setting that is out of range
         */
        public HttpPublisher build() {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be positive, was " + timeout);
            }
            if (lease.compareTo(timeout) <= 0) {
                throw new IllegalArgumentException("lease must exceed the timeout (" + timeout + "), was " + lease);
            }
            if (maxInFlight < 1) {
                throw new IllegalArgumentException("maxInFlight must be at least 1, was " + maxInFlight);
            }
            return new HttpPublisher(consumerUrl, delivery, timeout, lease, maxInFlight);
        }
    }
}
