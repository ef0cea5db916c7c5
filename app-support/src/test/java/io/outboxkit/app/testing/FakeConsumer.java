package io.outboxkit.app.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.delivery.DeliveryProtocol;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A consumer endpoint to deliver to, on a free port of 127.0.0.1: records every message, and
 * answers as its current {@link Behaviour} says (200 "processed" unless told otherwise). Serves
 * requests concurrently.
 *
 * <p>It also serves the batch endpoint ({@code /messages/batch}): each envelope of a batch is
 * recorded and answered on its own by the behaviour (2xx: "processed", else "failed" with the
 * reply's body as the error), unless {@link #answerBatches} sets a reply for the whole request.
 *
 * <p>Close it when done; or register it on a static field
 * ({@code @RegisterExtension static final FakeConsumer consumer = new FakeConsumer();}) to have
 * it forget everything before each test and close after the class.
 */
public final class FakeConsumer implements AutoCloseable, BeforeEachCallback, AfterAllCallback {

    /**
     * A message as received.
     *
     * @param messageIdHeader the {@code Message-Id} header, null when absent (as in a batch)
     * @param contentType     the request's content type
     * @param envelope        the envelope
     * @param traceparent     the {@code traceparent} header, null when absent (as in a batch)
     */
    public record Received(UUID messageIdHeader, String contentType, JsonNode envelope, String traceparent) {

        /** The envelope's message id. */
        public UUID id() {
            return UUID.fromString(envelope.get("id").asText());
        }
    }

    /** An answer to send: its status and its body. */
    public record Reply(int status, String body) {

        /** 200 {"status":"processed"}. */
        public static Reply processed() {
            return new Reply(200, "{\"status\":\"processed\"}");
        }

        /** 200 {"status":"duplicate"}. */
        public static Reply duplicate() {
            return new Reply(200, "{\"status\":\"duplicate\"}");
        }
    }

    /** How to answer a message; may block to play a slow consumer. */
    @FunctionalInterface
    public interface Behaviour {
        /** The reply to {@code request}; throwing answers 500. */
        Reply answer(Received request) throws Exception;
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger maxInFlight = new AtomicInteger();
    private volatile Behaviour behaviour = request -> Reply.processed();
    private volatile Reply batchReply;
    private final List<Integer> batchSizes = new CopyOnWriteArrayList<>();
    private final AtomicReference<CountDownLatch> trickle = new AtomicReference<>();

    /** Starts serving. */
    public FakeConsumer() {
        try {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/messages", this::serve);
        server.setExecutor(executor);
        server.start();
    }

    /** The URL to deliver to (a relay's CONSUMER_URL). */
    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/messages";
    }

    /** Answers from now on as {@code behaviour} says. */
    public void answer(Behaviour behaviour) {
        this.behaviour = behaviour;
    }

    /** Answers the next messages with {@code replies}, one each in order, and 500 after the last. */
    public void answerInTurn(Reply... replies) {
        Deque<Reply> script = new ArrayDeque<>(List.of(replies));
        answer(request -> {
            synchronized (script) {
                Reply next = script.poll();
                return next != null ? next : new Reply(500, "{\"error\":\"no more scripted answers\"}");
            }
        });
    }

    /** Answers every batch request with {@code reply} (null: answer each message by the behaviour). */
    public void answerBatches(Reply reply) {
        this.batchReply = reply;
    }

    /**
     * Answers the next request, whatever it is, with 200 and then a body that never ends: one byte
     * every 100 ms until {@code stop} opens (a consumer stalled mid-answer, never silent long
     * enough for a read timeout). The request is not recorded.
     */
    public void trickleNextAnswer(CountDownLatch stop) {
        trickle.set(stop);
    }

    /** Forgets what it received and how it was told to answer: a consumer as new, at the same URL. */
    public void reset() {
        behaviour = request -> Reply.processed();
        batchReply = null;
        trickle.set(null);
        received.clear();
        batchSizes.clear();
        maxInFlight.set(0);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        reset();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    /** How many messages each batch request carried, in arrival order. */
    public List<Integer> batchSizes() {
        return List.copyOf(batchSizes);
    }

    /** Every message so far, in arrival order. */
    public List<Received> received() {
        return List.copyOf(received);
    }

    /**
     * The ids received for each aggregate ({@code aggregate_id}), each id once, in the order they
     * first arrived: what an ordering check compares with the write order.
     */
    public Map<String, List<UUID>> idsByAggregate() {
        Map<String, List<UUID>> ids = new LinkedHashMap<>();
        for (Received request : received) {
            List<UUID> arrived = ids.computeIfAbsent(request.envelope().get("aggregate_id").asText(), k -> new ArrayList<>());
            if (!arrived.contains(request.id())) {
                arrived.add(request.id());
            }
        }
        return ids;
    }

    /** The most requests that were being served at once. */
    public int maxInFlight() {
        return maxInFlight.get();
    }

    private void serve(HttpExchange exchange) throws IOException {
        int now = inFlight.incrementAndGet();
        maxInFlight.accumulateAndGet(now, Math::max);
        try (exchange) {
            CountDownLatch stop = trickle.getAndSet(null);
            if (stop != null) {
                trickle(exchange, stop);
                return;
            }
            if (exchange.getRequestURI().getPath().endsWith(DeliveryProtocol.BATCH_PATH)) {
                serveBatch(exchange);
                return;
            }
            Received request;
            try (InputStream body = exchange.getRequestBody()) {
                String header = exchange.getRequestHeaders().getFirst(DeliveryProtocol.MESSAGE_ID_HEADER);
                request = new Received(header == null ? null : UUID.fromString(header),
                        exchange.getRequestHeaders().getFirst("Content-Type"), Jsons.mapper().readTree(body),
                        exchange.getRequestHeaders().getFirst("traceparent"));
            }
            received.add(request);
            send(exchange, replyTo(request));
        } catch (IOException e) {
            // the client gave up on this request (timeout); nothing to answer
        } finally {
            inFlight.decrementAndGet();
        }
    }

    private Reply replyTo(Received request) {
        try {
            return behaviour.answer(request);
        } catch (Exception e) {
            return new Reply(500, "fake consumer failed: " + e);
        }
    }

    private static void trickle(HttpExchange exchange, CountDownLatch stop) throws IOException {
        exchange.getRequestBody().readAllBytes();
        exchange.sendResponseHeaders(200, 0); // chunked: no length announced
        try (OutputStream out = exchange.getResponseBody()) {
            while (!stop.await(100, TimeUnit.MILLISECONDS)) {
                out.write(' ');
                out.flush();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void serveBatch(HttpExchange exchange) throws IOException {
        JsonNode body;
        try (InputStream in = exchange.getRequestBody()) {
            body = Jsons.mapper().readTree(in);
        }
        String contentType = exchange.getRequestHeaders().getFirst("Content-Type");
        JsonNode messages = body.get(DeliveryProtocol.MESSAGES);
        batchSizes.add(messages.size());
        Reply whole = batchReply;
        ArrayNode results = Jsons.mapper().createArrayNode();
        for (JsonNode envelope : messages) {
            Received request = new Received(null, contentType, envelope, null);
            received.add(request);
            if (whole != null) {
                continue;
            }
            Reply reply = replyTo(request);
            ObjectNode result = results.addObject();
            result.put(DeliveryProtocol.ID, envelope.get("id").asText());
            if (reply.status() >= 200 && reply.status() < 300) {
                result.put(DeliveryProtocol.STATUS, DeliveryProtocol.PROCESSED);
            } else {
                result.put(DeliveryProtocol.STATUS, DeliveryProtocol.FAILED);
                result.put(DeliveryProtocol.ERROR, reply.body());
            }
        }
        send(exchange, whole != null ? whole
                : new Reply(200, Jsons.mapper().createObjectNode().set(DeliveryProtocol.RESULTS, results).toString()));
    }

    private static void send(HttpExchange exchange, Reply reply) throws IOException {
        byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(reply.status(), bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    /** Stops serving. */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
