package io.outboxkit.app.delivery;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.TransportHeaders;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.apache.hc.client5.http.ConnectTimeoutException;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.io.SocketConfig;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.Timeout;

/**
 * JSON POSTs over pooled HTTP/1.1 keep-alive connections, each run to its end on a thread of its
 * own: Apache HttpClient's blocking client, which sends and reads on the calling thread (the JDK
 * HttpClient hands every exchange between its selector thread and an executor, which cost the
 * relay a third of its CPU). Never retries, never follows a redirect. Thread-safe.
 */
final class HttpTransport implements AutoCloseable {

    /**
     * The largest answer read: 4 MiB (a consumer's answer to a batch of 10,000 is about 1 MiB). A
     * larger one fails the delivery, read no further: the memory taken grows with the bytes that
     * arrive, never with what the answer's Content-Length claims.
     */
    static final int MAX_ANSWER_BYTES = 4 * 1024 * 1024;
    /** The time allowed past the timeout for the body of an answer whose headers came in time. */
    private static final long BODY_GRACE_MS = 1_000;
    /** How long a pooled connection may sit idle before it is checked (the server may have closed it). */
    private static final TimeValue CHECK_AFTER_IDLE = TimeValue.ofSeconds(1);

    /** The message headers copied onto a single delivery's request: its W3C trace context. */
    private static final String[] TRACE_HEADERS = {TransportHeaders.TRACEPARENT, TransportHeaders.TRACESTATE};
    /** A header value safe to send: printable ASCII, at most 512 characters (W3C's tracestate limit). */
    private static final Pattern HEADER_VALUE = Pattern.compile("[\\x20-\\x7e]{1,512}");

    /** JSON's media type, without a charset parameter: JSON is UTF-8 by definition (RFC 8259). */
    private static final ContentType JSON = ContentType.create("application/json");

    private final Duration timeout;
    private final ExecutorService executor;
    private final CloseableHttpClient client;

    /** {@code timeout} bounds connecting, waiting for a pooled connection, and each wait for the answer. */
    HttpTransport(Duration timeout, int maxConnections) {
        this.timeout = timeout;
        AtomicInteger threads = new AtomicInteger();
        this.executor = Executors.newCachedThreadPool(task -> {
            Thread thread = new Thread(task, "relay-http-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        Timeout limit = Timeout.of(timeout);
        this.client = HttpClients.custom()
                .setConnectionManager(PoolingHttpClientConnectionManagerBuilder.create()
                        .setMaxConnTotal(maxConnections)
                        .setMaxConnPerRoute(maxConnections)
                        .setDefaultSocketConfig(SocketConfig.custom().setTcpNoDelay(true).build())
                        .setDefaultConnectionConfig(ConnectionConfig.custom()
                                .setConnectTimeout(limit)
                                .setSocketTimeout(limit)
                                .setValidateAfterInactivity(CHECK_AFTER_IDLE)
                                .build())
                        .build())
                .setDefaultRequestConfig(RequestConfig.custom()
                        .setConnectionRequestTimeout(limit)
                        .setResponseTimeout(limit)
                        .build())
                .disableAutomaticRetries() // the poller retries, and counts the attempt
                .disableRedirectHandling()
                .disableCookieManagement()
                .disableAuthCaching()
                .disableContentCompression()
                .setUserAgent("outbox-relay")
                .build();
    }

    /**
     * Starts a POST of {@code body} as JSON, with a {@code Message-Id} header unless
     * {@code single} is null (a batch), and that message's trace context in the {@code traceparent}
     * and {@code tracestate} headers when it carries one. The future completes with the answer, or exceptionally with the
     * cause: a {@link TimeoutException} when the whole exchange outlived the timeout by more than
     * a second. Cancelling the future aborts the exchange.
     */
    CompletableFuture<ConsumerAnswer> post(URI uri, byte[] body, OutboxMessage single) {
        HttpPost post = request(uri, body, single);
        CompletableFuture<ConsumerAnswer> answer = bounded(post);
        executor.execute(() -> {
            if (!answer.isDone()) { // cancelled, or timed out, before a thread was free
                run(post, answer);
            }
        });
        return answer;
    }

    /**
     * {@link #post}, run on the calling thread: the future is complete when this returns. For a
     * batch sent as one request, which then needs no hand-off to a thread of the pool and back:
     * two thread wake-ups per batch, which on a busy machine cost latency more than CPU. The same
     * whole-exchange timeout applies; an interrupt does not abort the exchange (the timeouts do).
     */
    CompletableFuture<ConsumerAnswer> postHere(URI uri, byte[] body, OutboxMessage single) {
        HttpPost post = request(uri, body, single);
        CompletableFuture<ConsumerAnswer> answer = bounded(post);
        run(post, answer);
        return answer;
    }

    /**
     * The future of {@code post}'s answer: it fails with a {@link TimeoutException} once the whole
     * exchange has outlived the timeout by more than a second, and a timeout or a cancellation
     * aborts the exchange, which frees the thread blocked on the connection.
     */
    private CompletableFuture<ConsumerAnswer> bounded(HttpPost post) {
        CompletableFuture<ConsumerAnswer> answer = new CompletableFuture<>();
        answer.orTimeout(timeout.toMillis() + BODY_GRACE_MS, TimeUnit.MILLISECONDS).whenComplete((done, error) -> {
            if (error instanceof TimeoutException || error instanceof CancellationException) {
                post.cancel();
            }
        });
        return answer;
    }

    /**
     * Runs the exchange and completes {@code answer} with its outcome (unless it timed out or was
     * cancelled first), a failure wrapped in a {@link CompletionException} as an async supplier's is.
     */
    private void run(HttpPost post, CompletableFuture<ConsumerAnswer> answer) {
        try {
            answer.complete(exchange(post));
        } catch (Throwable e) {
            answer.completeExceptionally(e instanceof CompletionException ? e : new CompletionException(e));
        }
    }

    private static HttpPost request(URI uri, byte[] body, OutboxMessage single) {
        HttpPost post = new HttpPost(uri);
        post.setEntity(new ByteArrayEntity(body, JSON));
        if (single != null) {
            post.setHeader(DeliveryProtocol.MESSAGE_ID_HEADER, single.id().toString());
            for (String trace : TRACE_HEADERS) {
                String value = single.headers().get(trace);
                // Stored data: copied only when it cannot break the request's framing (the receiver checks the rest).
                if (value != null && HEADER_VALUE.matcher(value).matches()) {
                    post.setHeader(trace, value);
                }
            }
        }
        return post;
    }

    private ConsumerAnswer exchange(HttpPost post) {
        try {
            return client.execute(post, response -> new ConsumerAnswer(response.getCode(), body(response.getEntity(), post)));
        } catch (IOException e) {
            throw new CompletionException(e);
        }
    }

    /**
     * The answer's body, decoded as its Content-Type says (UTF-8 otherwise). Not EntityUtils.toString:
     * it sizes its buffer by the Content-Length header, so an answer claiming 2 GB took 32 MB before a
     * byte came, for every request in flight.
     */
    private static String body(HttpEntity entity, HttpPost post) throws IOException {
        if (entity == null) {
            return "";
        }
        InputStream in = entity.getContent();
        byte[] bytes = in == null ? new byte[0] : in.readNBytes(MAX_ANSWER_BYTES + 1);
        if (bytes.length > MAX_ANSWER_BYTES) {
            // Cancelled, not closed: closing the stream would read the rest of the body to its claimed end.
            post.cancel();
            throw new IOException("the answer is larger than " + MAX_ANSWER_BYTES / (1024 * 1024) + " MiB");
        }
        ContentType type = ContentType.parseLenient(entity.getContentType());
        Charset charset = type == null || type.getCharset() == null ? StandardCharsets.UTF_8 : type.getCharset();
        return new String(bytes, charset);
    }

    /** What went wrong with a POST to {@code endpoint}, as a person reading the message's last error needs it. */
    DeliveryException failure(URI endpoint, Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (cause instanceof ConnectTimeoutException) {
            return new DeliveryException("connecting to " + endpoint + " timed out after " + timeout.toMillis() + " ms",
                    cause);
        }
        if (cause instanceof SocketTimeoutException || cause instanceof TimeoutException) {
            return new DeliveryException("timed out after " + timeout.toMillis() + " ms waiting for " + endpoint, cause);
        }
        if (cause instanceof ConnectException) {
            return new DeliveryException("cannot connect to " + endpoint + ": "
                    + (cause.getMessage() == null ? "connection refused" : cause.getMessage()), cause);
        }
        String detail = cause.getMessage() == null ? cause.getClass().getSimpleName()
                : cause.getClass().getSimpleName() + ": " + cause.getMessage();
        return new DeliveryException("delivery to " + endpoint + " failed: " + detail, cause);
    }

    /** Closes the pooled connections and ends the threads; exchanges still running fail. */
    @Override
    public void close() {
        try {
            client.close();
        } catch (IOException e) {
            // closing sockets: nothing left to do with the error
        }
        executor.shutdownNow();
    }
}
