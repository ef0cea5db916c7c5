package io.outboxkit.app.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Tracer;
import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TracingTest {

    /** Spans in a burst of two and a half times the SDK's own queue, fewer than the services' one. */
    private static final int BURST = 5_000;
    private static final String BURST_SPAN = "burst-span";

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
        exportTo(exchange -> {
            requests.add(Map.copyOf(exchange.getRequestHeaders()));
            answer(exchange);
        }, Map.of(), tracer -> tracer.spanBuilder("one").startSpan().end());

        assertThat(requests).hasSize(1);
        // The JDK's client offers HTTP/2 on a plain connection (an upgrade the collector may decline);
        // OkHttp does not: which of the two sent the export.
        assertThat(requests.get(0)).containsEntry("Upgrade", List.of("h2c"));
    }

    @Test
    void a_burst_of_spans_larger_than_the_sdks_own_queue_waits_for_a_held_export_and_arrives_whole() throws IOException {
        assertThat(spansArriving(Map.of())).isEqualTo(BURST);
    }

    @Test
    void the_hosts_own_queue_size_wins() throws IOException {
        // A queue of 1,024 holds at most that many behind the held export of 512: the rest is dropped.
        assertThat(spansArriving(Map.of("otel.bsp.max.queue.size", "1024"))).isLessThanOrEqualTo(512 + 1024);
    }

    /**
     * Ends {@link #BURST} spans while the collector holds the first export unanswered, then lets it
     * answer (the SDK's shutdown sends what it queued): the spans the collector counted.
     */
    private static int spansArriving(Map<String, String> hostSettings) throws IOException {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger spans = new AtomicInteger();
        byte[] marker = BURST_SPAN.getBytes(StandardCharsets.US_ASCII);
        exportTo(exchange -> {
            spans.addAndGet(occurrences(exchange.getRequestBody().readAllBytes(), marker));
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            answer(exchange);
        }, hostSettings, tracer -> {
            for (int i = 0; i < BURST; i++) {
                tracer.spanBuilder(BURST_SPAN).startSpan().end();
            }
            release.countDown();
        });
        return spans.get();
    }

    /**
     * Installs the services' SDK exporting over OTLP/HTTP to a collector of the test's own, whose
     * every request {@code collector} handles; runs {@code spans}, then shuts the SDK down (which
     * sends what is buffered). The host's {@code hostSettings} go in as system properties, as
     * {@code otel.*} settings of the process.
     */
    @Test
    void a_refused_setting_is_one_line_naming_it_and_the_sdk_logs_nothing_of_its_own_about_it() {
        List<LogRecord> logged = new CopyOnWriteArrayList<>();
        Handler recorder = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (isLoggable(record)) {
                    logged.add(record);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger sdk = Logger.getLogger("io.opentelemetry");
        sdk.addHandler(recorder);
        System.setProperty("otel.traces.exporter", "bogus"); // the SDK reads the process's settings, not Env
        try {
            assertThatThrownBy(() -> Tracing.install("test", Env.of(Map.of("OTEL_TRACES_EXPORTER", "bogus"))))
                    .isInstanceOf(ConfigException.class)
                    .hasMessage("the OpenTelemetry settings (OTEL_*) are refused: Unrecognized value for "
                            + "otel.traces.exporter: bogus");
        } finally {
            System.clearProperty("otel.traces.exporter");
            sdk.removeHandler(recorder);
        }
        assertThat(logged).as("what the SDK logged through java.util.logging")
                .extracting(r -> r.getLevel() + " " + r.getLoggerName() + ": " + r.getMessage()).isEmpty();
    }

    @Test
    void with_only_an_endpoint_set_spans_go_out_as_otlp_over_http_as_the_readme_says() throws IOException {
        // README: OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 ./run.sh  # http/protobuf by default
        List<String> received = new CopyOnWriteArrayList<>();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
        server.createContext("/", exchange -> {
            try (exchange) {
                received.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath());
                answer(exchange);
            }
        });
        server.start();
        Map<String, String> settings = Map.of("otel.traces.exporter", "otlp",
                "otel.exporter.otlp.endpoint", "http://127.0.0.1:" + server.getAddress().getPort());
        settings.forEach(System::setProperty);
        try {
            OpenTelemetry sdk = Tracing.install("tracing-test", Env.of(Map.of("OTEL_TRACES_EXPORTER", "otlp")));
            sdk.getTracer("test").spanBuilder("one-span").startSpan().end();
            Tracing.shutdown(sdk);
        } finally {
            settings.keySet().forEach(System::clearProperty);
            server.stop(0);
        }
        assertThat(received).as("requests at the OTLP/HTTP receiver").containsExactly("POST /v1/traces");
    }

    private static void exportTo(CollectorHandler collector, Map<String, String> hostSettings, Consumer<Tracer> spans)
            throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
        server.createContext("/v1/traces", exchange -> {
            try (exchange) {
                collector.handle(exchange);
            }
        });
        server.start();
        // The SDK reads its settings from the process (system properties win over variables).
        Map<String, String> settings = new HashMap<>(Map.of("otel.traces.exporter", "otlp",
                "otel.exporter.otlp.protocol", "http/protobuf",
                "otel.exporter.otlp.endpoint", "http://127.0.0.1:" + server.getAddress().getPort()));
        settings.putAll(hostSettings);
        settings.forEach(System::setProperty);
        try {
            OpenTelemetry sdk = Tracing.install("tracing-test", Env.of(Map.of("OTEL_TRACES_EXPORTER", "otlp")));
            spans.accept(sdk.getTracer("test"));
            Tracing.shutdown(sdk);
        } finally {
            settings.keySet().forEach(System::clearProperty);
            server.stop(0);
        }
    }

    /** What the test's collector does with one export request. */
    @FunctionalInterface
    private interface CollectorHandler {
        void handle(HttpExchange exchange) throws IOException;
    }

    /** Reads the rest of the request and answers 200: every span accepted. */
    private static void answer(HttpExchange exchange) throws IOException {
        exchange.getRequestBody().readAllBytes();
        exchange.sendResponseHeaders(200, -1);
    }

    /** How often {@code marker} occurs in {@code bytes}: a span's name appears once in an OTLP request. */
    private static int occurrences(byte[] bytes, byte[] marker) {
        int found = 0;
        for (int i = 0; i + marker.length <= bytes.length; i++) {
            if (Arrays.equals(bytes, i, i + marker.length, marker, 0, marker.length)) {
                found++;
                i += marker.length - 1;
            }
        }
        return found;
    }
}
