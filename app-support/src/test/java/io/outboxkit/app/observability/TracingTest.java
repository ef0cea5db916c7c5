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
import java.util.concurrent.CopyOnWriteArrayList;
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
}
