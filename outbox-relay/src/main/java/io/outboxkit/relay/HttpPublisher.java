package io.outboxkit.relay;

import io.outboxkit.app.Jsons;
import io.outboxkit.app.MessageEnvelope;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.MessagePublisher;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * POSTs each message's envelope as JSON to the consumer, with its id in a {@code Message-Id}
 * header. A 2xx answer is a delivery; any other status, a refused connection or a timeout is a
 * failure whose message says which.
 *
 * <p>A batch is delivered concurrently, at most {@code maxInFlight} requests at a time (safe: with
 * ordering on, a batch holds at most one message per aggregate). The first {@code maxInFlight}
 * requests start at once; a later one that could no longer end within the lease is not sent and
 * fails as "not sent", so a slow consumer does not make deliveries outlive their claim (which
 * would let another relay deliver the message again). Thread-safe; {@link #close()} releases the
 * client's threads.
 */
final class HttpPublisher implements MessagePublisher, AutoCloseable {

    /** How much of a failing answer's body is kept in the error. */
    static final int MAX_BODY_IN_ERROR = 200;
    /** The time allowed past the timeout for the body of an answer whose headers came in time. */
    private static final long BODY_GRACE_MS = 1_000;

    private final URI endpoint;
    private final Duration timeout;
    private final Duration lease;
    private final int maxInFlight;
    private final Semaphore inFlight;
    private final ExecutorService executor;
    private final HttpClient client;

    HttpPublisher(URI endpoint, Duration timeout, Duration lease, int maxInFlight) {
        this.endpoint = endpoint;
        this.timeout = timeout;
        this.lease = lease;
        this.maxInFlight = maxInFlight;
        this.inFlight = new Semaphore(maxInFlight);
        AtomicInteger threads = new AtomicInteger();
        this.executor = Executors.newCachedThreadPool(task -> {
            Thread thread = new Thread(task, "relay-http-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .executor(executor)
                .build();
    }

    @Override
    public void publish(OutboxMessage message) throws Exception {
        Exception failure = await(deliver(message));
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
        long latestStart = System.nanoTime() + latestStartAfterClaim().toNanos();
        Map<UUID, CompletableFuture<Exception>> deliveries = new LinkedHashMap<>();
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        try {
            for (OutboxMessage message : batch) {
                inFlight.acquire();
                if (deliveries.size() >= maxInFlight && System.nanoTime() - latestStart > 0) {
                    inFlight.release();
                    failures.put(message.id(), new DeliveryException("not sent: it could no longer be delivered within "
                            + "the lease of " + lease.toMillis() + " ms (the consumer is slow; lower BATCH_SIZE or "
                            + "raise MAX_IN_FLIGHT or LEASE_MS)"));
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

    /** Releases the HTTP client's threads; deliveries still running fail. */
    @Override
    public void close() {
        executor.shutdownNow();
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
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(endpoint)
                    .timeout(timeout)
                    .header("Content-Type", "application/json")
                    .header("Message-Id", message.id().toString())
                    .POST(HttpRequest.BodyPublishers.ofByteArray(
                            Jsons.mapper().writeValueAsBytes(MessageEnvelope.toJson(message))))
                    .build();
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.completedFuture(new DeliveryException("cannot serialize message "
                    + message.id() + ": " + e.getMessage(), e));
        }
        return client.sendAsync(request, HttpResponse.BodyHandlers.ofString())
                .orTimeout(timeout.toMillis() + BODY_GRACE_MS, TimeUnit.MILLISECONDS)
                .handle(this::outcome);
    }

    private Exception outcome(HttpResponse<String> response, Throwable error) {
        if (error != null) {
            return failure(error instanceof CompletionException && error.getCause() != null ? error.getCause() : error);
        }
        int status = response.statusCode();
        if (status >= 200 && status < 300) {
            return null;
        }
        String body = response.body() == null ? "" : response.body().strip();
        if (body.length() > MAX_BODY_IN_ERROR) {
            body = body.substring(0, MAX_BODY_IN_ERROR) + "...";
        }
        return new DeliveryException("HTTP " + status + " from " + endpoint + (body.isEmpty() ? "" : ": " + body));
    }

    private Exception failure(Throwable error) {
        if (error instanceof HttpConnectTimeoutException) {
            return new DeliveryException("connecting to " + endpoint + " timed out after " + timeout.toMillis() + " ms", error);
        }
        if (error instanceof HttpTimeoutException || error instanceof TimeoutException) {
            return new DeliveryException("timed out after " + timeout.toMillis() + " ms waiting for " + endpoint, error);
        }
        if (error instanceof ConnectException) {
            return new DeliveryException("cannot connect to " + endpoint + ": "
                    + (error.getMessage() == null ? "connection refused" : error.getMessage()), error);
        }
        String detail = error.getMessage() == null ? error.getClass().getSimpleName()
                : error.getClass().getSimpleName() + ": " + error.getMessage();
        return new DeliveryException("delivery to " + endpoint + " failed: " + detail, error);
    }

    private static Exception await(CompletableFuture<Exception> delivery) throws InterruptedException {
        try {
            return delivery.get();
        } catch (ExecutionException e) {
            return new DeliveryException("delivery failed: " + e.getCause(), e.getCause());
        } catch (java.util.concurrent.CancellationException e) {
            return new DeliveryException("delivery cancelled", e);
        }
    }
}
