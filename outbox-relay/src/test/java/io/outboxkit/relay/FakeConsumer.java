package io.outboxkit.relay;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.outboxkit.app.Jsons;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A consumer endpoint for the relay to deliver to: records every message, and answers as its
 * current {@link Behaviour} says (200 unless told otherwise). Serves requests concurrently.
 *
 * <p>It also serves the batch endpoint ({@code /messages/batch}): each envelope of a batch is
 * recorded and answered on its own by the behaviour (2xx: "processed", else "failed" with the
 * reply's body as the error), unless {@link #answerBatches} sets a reply for the whole request.
 */
final class FakeConsumer implements AutoCloseable {

    /** A request as received. */
    record Received(UUID messageIdHeader, String contentType, JsonNode envelope) {

        UUID id() {
            return UUID.fromString(envelope.get("id").asText());
        }
    }

    /** An answer to send. */
    record Reply(int status, String body) {
        static Reply ok() {
            return new Reply(200, "{\"status\":\"processed\"}");
        }
    }

    /** How to answer a request; may block to play a slow consumer. */
    @FunctionalInterface
    interface Behaviour {
        Reply answer(Received request) throws Exception;
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger maxInFlight = new AtomicInteger();
    private volatile Behaviour behaviour = request -> Reply.ok();
    private volatile Reply batchReply;
    private final List<Integer> batchSizes = new CopyOnWriteArrayList<>();
    private final AtomicReference<CountDownLatch> trickle = new AtomicReference<>();

    FakeConsumer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.createContext("/messages", this::serve);
        server.setExecutor(executor);
        server.start();
    }

    /** The URL to give the relay as CONSUMER_URL. */
    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/messages";
    }

    /** Answers from now on as {@code behaviour} says. */
    void answer(Behaviour behaviour) {
        this.behaviour = behaviour;
    }

    /** Answers every batch request with {@code reply} (null: answer each message by the behaviour). */
    void answerBatches(Reply reply) {
        this.batchReply = reply;
    }

    /**
     * Answers the next request, whatever it is, with 200 and then a body that never ends: one byte
     * every 100 ms until {@code stop} opens (a consumer stalled mid-answer, never silent long
     * enough for a read timeout). The request is not recorded.
     */
    void trickleNextAnswer(CountDownLatch stop) {
        trickle.set(stop);
    }

    /** How many messages each batch request carried, in arrival order. */
    List<Integer> batchSizes() {
        return List.copyOf(batchSizes);
    }

    /** Every message so far, in arrival order. */
    List<Received> received() {
        return List.copyOf(received);
    }

    /** The most requests that were being served at once. */
    int maxInFlight() {
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
            if (exchange.getRequestURI().getPath().endsWith("/batch")) {
                serveBatch(exchange);
                return;
            }
            Received request;
            try (InputStream body = exchange.getRequestBody()) {
                String header = exchange.getRequestHeaders().getFirst("Message-Id");
                request = new Received(header == null ? null : UUID.fromString(header),
                        exchange.getRequestHeaders().getFirst("Content-Type"), Jsons.mapper().readTree(body));
            }
            received.add(request);
            Reply reply;
            try {
                reply = behaviour.answer(request);
            } catch (Exception e) {
                reply = new Reply(500, "fake consumer failed: " + e);
            }
            byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(reply.status(), bytes.length == 0 ? -1 : bytes.length);
            if (bytes.length > 0) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
            }
        } catch (IOException e) {
            // the relay gave up on this request (timeout); nothing to answer
        } finally {
            inFlight.decrementAndGet();
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
        JsonNode messages = body.get("messages");
        batchSizes.add(messages.size());
        Reply whole = batchReply;
        com.fasterxml.jackson.databind.node.ArrayNode results = Jsons.mapper().createArrayNode();
        for (JsonNode envelope : messages) {
            Received request = new Received(null, contentType, envelope);
            received.add(request);
            if (whole != null) {
                continue;
            }
            Reply reply;
            try {
                reply = behaviour.answer(request);
            } catch (Exception e) {
                reply = new Reply(500, "fake consumer failed: " + e);
            }
            com.fasterxml.jackson.databind.node.ObjectNode result = results.addObject();
            result.put("id", envelope.get("id").asText());
            if (reply.status() >= 200 && reply.status() < 300) {
                result.put("status", "processed");
            } else {
                result.put("status", "failed");
                result.put("error", reply.body());
            }
        }
        Reply reply = whole != null ? whole
                : new Reply(200, Jsons.mapper().createObjectNode().set("results", results).toString());
        byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(reply.status(), bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
