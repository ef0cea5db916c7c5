package io.outboxkit.system.observability;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An OTLP/HTTP receiver of the test's own (what a collector or Jaeger is to a user): it takes the
 * services' {@code POST /v1/traces} in protobuf, decodes them with the protocol's own classes and
 * keeps each span with its service's name. Thread-safe.
 */
final class OtlpReceiver implements AutoCloseable {

    /** One received span, its ids in hex as the W3C traceparent writes them. */
    record Received(String service, String name, Span.SpanKind kind, String traceId, String spanId, String parentSpanId,
                    Map<String, String> attributes) {
    }

    private final HttpServer server;
    private final List<Received> spans = new CopyOnWriteArrayList<>();

    OtlpReceiver() {
        try {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/v1/traces", exchange -> {
            try (InputStream body = exchange.getRequestBody()) {
                keep(ExportTraceServiceRequest.parseFrom(body));
                byte[] answer = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
                exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
                exchange.sendResponseHeaders(200, answer.length == 0 ? -1 : answer.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(answer);
                }
            } catch (IOException | RuntimeException e) {
                exchange.sendResponseHeaders(400, -1);
            } finally {
                exchange.close();
            }
        });
        server.start();
    }

    /** The endpoint to give as {@code OTEL_EXPORTER_OTLP_ENDPOINT} (the exporter appends /v1/traces). */
    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Every span received so far. */
    List<Received> spans() {
        return List.copyOf(spans);
    }

    private void keep(ExportTraceServiceRequest request) {
        HexFormat hex = HexFormat.of();
        for (ResourceSpans resource : request.getResourceSpansList()) {
            String service = attributes(resource.getResource().getAttributesList()).get("service.name");
            for (ScopeSpans scope : resource.getScopeSpansList()) {
                for (Span span : scope.getSpansList()) {
                    spans.add(new Received(service, span.getName(), span.getKind(), hex.formatHex(span.getTraceId().toByteArray()),
                            hex.formatHex(span.getSpanId().toByteArray()), hex.formatHex(span.getParentSpanId().toByteArray()),
                            attributes(span.getAttributesList())));
                }
            }
        }
    }

    private static Map<String, String> attributes(List<KeyValue> values) {
        Map<String, String> map = new LinkedHashMap<>();
        for (KeyValue value : values) {
            AnyValue v = value.getValue();
            map.put(value.getKey(), v.hasStringValue() ? v.getStringValue() : v.hasIntValue() ? Long.toString(v.getIntValue())
                    : v.hasBoolValue() ? Boolean.toString(v.getBoolValue()) : v.toString());
        }
        return map;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
