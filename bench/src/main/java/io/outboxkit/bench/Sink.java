package io.outboxkit.bench;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.outboxkit.app.Jsons;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A consumer that acknowledges at once: every message of a batch "processed" (it reads only the
 * ids), every single message 200. For measuring the relay alone. It also takes OTLP/HTTP exports
 * under {@code /v1/} and drops them, as a local collector that costs the services nothing more
 * than the export.
 */
final class Sink implements AutoCloseable {

    private static final int LENGTH_DELIMITED_1 = 1 << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED;
    private static final int LENGTH_DELIMITED_2 = 2 << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED;

    private final HttpServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(8);
    private final AtomicLong messages = new AtomicLong();
    private final AtomicLong exports = new AtomicLong();
    private final AtomicLong spans = new AtomicLong();

    Sink() throws IOException {
        // Without TCP_NODELAY the JDK's server and a keep-alive client stall 40 ms per answer (Nagle + delayed ACK).
        System.setProperty("sun.net.httpserver.nodelay", "true");
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 128);
        server.createContext("/messages", this::serve);
        server.createContext("/v1/", this::otlp);
        server.setExecutor(executor);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/messages";
    }

    long messages() {
        return messages.get();
    }

    /** The base URL of an OTLP/HTTP collector that accepts every export and keeps nothing. */
    String otlpEndpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Exports received at {@link #otlpEndpoint()}. */
    long exports() {
        return exports.get();
    }

    /** Spans received in those exports: what the services' exporters did not drop. */
    long spans() {
        return spans.get();
    }

    /** An OTLP/HTTP export (protobuf): read, its spans counted, acknowledged with an empty response ("all accepted"). */
    private void otlp(HttpExchange exchange) throws IOException {
        try (exchange) {
            spans.addAndGet(spanCount(exchange.getRequestBody().readAllBytes()));
            exports.incrementAndGet();
            exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
            exchange.sendResponseHeaders(200, -1);
        }
    }

    /**
     * The spans of an {@code ExportTraceServiceRequest}: the entries of field 2 (spans) of each
     * field 2 (scope spans) of each field 1 (resource spans), every other field skipped unread.
     */
    static long spanCount(byte[] request) throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(request);
        long spans = 0;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            if (tag != LENGTH_DELIMITED_1) {
                in.skipField(tag);
                continue;
            }
            int resourceEnd = in.pushLimit(in.readRawVarint32());
            for (int resourceTag = in.readTag(); resourceTag != 0; resourceTag = in.readTag()) {
                if (resourceTag != LENGTH_DELIMITED_2) {
                    in.skipField(resourceTag);
                    continue;
                }
                int scopeEnd = in.pushLimit(in.readRawVarint32());
                for (int scopeTag = in.readTag(); scopeTag != 0; scopeTag = in.readTag()) {
                    spans += scopeTag == LENGTH_DELIMITED_2 ? 1 : 0;
                    in.skipField(scopeTag);
                }
                in.popLimit(scopeEnd);
            }
            in.popLimit(resourceEnd);
        }
        return spans;
    }

    private void serve(HttpExchange exchange) throws IOException {
        try (exchange) {
            StringBuilder answer = new StringBuilder();
            if (exchange.getRequestURI().getPath().endsWith("/batch")) {
                answer.append("{\"results\":[");
                int n = 0;
                try (InputStream body = exchange.getRequestBody();
                     JsonParser json = Jsons.messageMapper().getFactory().createParser(body)) {
                    int depth = 0;
                    for (JsonToken token = json.nextToken(); token != null; token = json.nextToken()) {
                        if (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) {
                            depth++;
                        } else if (token == JsonToken.END_OBJECT || token == JsonToken.END_ARRAY) {
                            depth--;
                        } else if (token == JsonToken.FIELD_NAME && depth == 3 && "id".equals(json.currentName())) {
                            json.nextToken();
                            answer.append(n++ == 0 ? "" : ",").append("{\"id\":\"").append(json.getText())
                                    .append("\",\"status\":\"processed\"}");
                        }
                    }
                }
                answer.append("]}");
                messages.addAndGet(n);
            } else {
                exchange.getRequestBody().readAllBytes();
                answer.append("{\"status\":\"processed\"}");
                messages.incrementAndGet();
            }
            byte[] bytes = answer.toString().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, bytes.length);
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
