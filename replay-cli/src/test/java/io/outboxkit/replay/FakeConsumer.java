package io.outboxkit.replay;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A consumer endpoint that gives scripted answers, in order, and records what it was sent. */
final class FakeConsumer implements AutoCloseable {

    /** One scripted answer. */
    record Answer(int status, String body) {
        static final Answer PROCESSED = new Answer(200, "{\"status\":\"processed\"}");
        static final Answer DUPLICATE = new Answer(200, "{\"status\":\"duplicate\"}");
    }

    private final HttpServer server;
    private final Deque<Answer> answers;
    private final List<String> received = new CopyOnWriteArrayList<>();

    private FakeConsumer(List<Answer> script) throws IOException {
        answers = new ArrayDeque<>(script);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/messages", exchange -> {
            received.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            Answer answer;
            synchronized (answers) {
                answer = answers.isEmpty() ? new Answer(500, "{\"error\":\"no more scripted answers\"}") : answers.poll();
            }
            byte[] body = answer.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(answer.status(), body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }

    static FakeConsumer answering(Answer... script) throws IOException {
        return new FakeConsumer(List.of(script));
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/messages";
    }

    /** The request bodies received so far, in order. */
    List<String> received() {
        return List.copyOf(received);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
