package io.outboxkit.app.observability;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.outboxkit.app.Env;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TracingTest {

    private String senderBefore;

    @BeforeEach
    void rememberSender() {
        senderBefore = System.getProperty(Tracing.HTTP_SENDER);
        System.clearProperty(Tracing.HTTP_SENDER);
    }

    @AfterEach
    void restoreSender() {
        if (senderBefore == null) {
            System.clearProperty(Tracing.HTTP_SENDER);
        } else {
            System.setProperty(Tracing.HTTP_SENDER, senderBefore);
        }
        GlobalOpenTelemetry.resetForTest();
    }

    @Test
    void otlp_over_http_goes_through_the_jdk_http_client_unless_the_host_chose_a_client() {
        Tracing.preferJdkHttpSender(Env.of(Map.of()));
        assertThat(System.getProperty(Tracing.HTTP_SENDER)).isEqualTo(Tracing.JDK_HTTP_SENDER);

        String okHttp = "io.opentelemetry.exporter.sender.okhttp.internal.OkHttpHttpSenderProvider";
        System.setProperty(Tracing.HTTP_SENDER, okHttp);
        Tracing.preferJdkHttpSender(Env.of(Map.of()));
        assertThat(System.getProperty(Tracing.HTTP_SENDER)).as("a system property of the host's").isEqualTo(okHttp);

        System.clearProperty(Tracing.HTTP_SENDER);
        Tracing.preferJdkHttpSender(Env.of(Map.of("IO_OPENTELEMETRY_SDK_COMMON_EXPORT_HTTPSENDERPROVIDER", okHttp)));
        assertThat(System.getProperty(Tracing.HTTP_SENDER)).as("the variable the SDK reads itself").isNull();
    }

    @Test
    void a_span_reaches_an_otlp_http_collector_sent_by_the_jdk_http_client() throws IOException {
        List<Map<String, List<String>>> requests = new CopyOnWriteArrayList<>();
        HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
        collector.createContext("/v1/traces", exchange -> {
            try (exchange) {
                exchange.getRequestBody().readAllBytes();
                requests.add(Map.copyOf(exchange.getRequestHeaders()));
                exchange.sendResponseHeaders(200, -1);
            }
        });
        collector.start();
        // The SDK reads its settings from the process (system properties win over variables).
        Map<String, String> settings = Map.of("otel.traces.exporter", "otlp", "otel.exporter.otlp.protocol",
                "http/protobuf", "otel.exporter.otlp.endpoint", "http://127.0.0.1:" + collector.getAddress().getPort());
        settings.forEach(System::setProperty);
        try {
            OpenTelemetry sdk = Tracing.install("tracing-test", Env.of(Map.of("OTEL_TRACES_EXPORTER", "otlp")));
            sdk.getTracer("test").spanBuilder("one").startSpan().end();
            Tracing.shutdown(sdk); // sends what is buffered
        } finally {
            settings.keySet().forEach(System::clearProperty);
            collector.stop(0);
        }

        assertThat(requests).hasSize(1);
        // The JDK's client offers HTTP/2 on a plain connection (an upgrade the collector may decline);
        // OkHttp does not: which of the two sent the export.
        assertThat(requests.get(0)).containsEntry("Upgrade", List.of("h2c"));
    }

    @Test
    void a_burst_of_spans_larger_than_the_sdks_own_queue_waits_for_a_held_export_and_arrives_whole() throws Exception {
        assertThat(spansArriving(BURST, Map.of())).isEqualTo(BURST);
    }

    @Test
    void the_hosts_own_queue_size_wins() throws Exception {
        // A queue of 1,024 holds at most that many behind the held export of 512: the rest is dropped.
        assertThat(spansArriving(BURST, Map.of("otel.bsp.max.queue.size", "1024"))).isLessThanOrEqualTo(512 + 1024);
    }

    /** Spans in a burst of two and a half times the SDK's own queue, fewer than this one's. */
    private static final int BURST = 5_000;
    private static final byte[] MARKER = "burst-span".getBytes(StandardCharsets.US_ASCII);

    /**
     * Ends {@code count} spans while the collector holds the first export unanswered, then lets it
     * answer and stops the SDK (which sends what it queued): the spans the collector counted.
     */
    private static int spansArriving(int count, Map<String, String> hostSettings) throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger spans = new AtomicInteger();
        HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
        collector.createContext("/v1/traces", exchange -> {
            try (exchange) {
                spans.addAndGet(occurrences(exchange.getRequestBody().readAllBytes(), MARKER));
                release.await(30, TimeUnit.SECONDS);
                exchange.sendResponseHeaders(200, -1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        collector.start();
        Map<String, String> settings = new java.util.HashMap<>(Map.of("otel.traces.exporter", "otlp",
                "otel.exporter.otlp.protocol", "http/protobuf",
                "otel.exporter.otlp.endpoint", "http://127.0.0.1:" + collector.getAddress().getPort()));
        settings.putAll(hostSettings);
        settings.forEach(System::setProperty);
        try {
            OpenTelemetry sdk = Tracing.install("tracing-test", Env.of(Map.of("OTEL_TRACES_EXPORTER", "otlp")));
            var tracer = sdk.getTracer("test");
            for (int i = 0; i < count; i++) {
                tracer.spanBuilder("burst-span").startSpan().end();
            }
            release.countDown();
            Tracing.shutdown(sdk);
        } finally {
            release.countDown();
            settings.keySet().forEach(System::clearProperty);
            collector.stop(0);
        }
        return spans.get();
    }

    /** How often {@code marker} occurs in {@code bytes}: each span's name once in an OTLP request. */
    private static int occurrences(byte[] bytes, byte[] marker) {
        int found = 0;
        for (int i = 0; i + marker.length <= bytes.length; i++) {
            if (java.util.Arrays.equals(bytes, i, i + marker.length, marker, 0, marker.length)) {
                found++;
                i += marker.length - 1;
            }
        }
        return found;
    }
}
