package io.outboxkit.app.observability;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.outboxkit.app.ServiceMain;
import io.outboxkit.testing.ChildJvm;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A service stopped with SIGTERM exports the spans of the work it finishes while it stops: the SDK
 * is shut down by the service's own stop, after that work, not by a shutdown hook of the SDK's own
 * running beside it (which shut the SDK down first, and then a second time: "Multiple shutdown calls").
 */
class TracingAtStopTest {

    @Test
    void a_span_ended_while_the_service_stops_reaches_the_collector() throws Exception {
        StringBuffer received = new StringBuffer();
        HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
        collector.createContext("/v1/traces", exchange -> {
            try (exchange) {
                received.append(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.ISO_8859_1));
                exchange.sendResponseHeaders(200, -1);
            }
        });
        collector.start();
        Map<String, String> env = Map.of("OTEL_TRACES_EXPORTER", "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
                "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + collector.getAddress().getPort());
        try (ChildJvm service = ChildJvm.start(TracingServiceProbe.class.getName(), env, List.of())) {
            assertThat(service.awaitOutput(ServiceMain.RUNNING, Duration.ofSeconds(30)))
                    .as("running; its output:%n%s", service.output()).isTrue();

            service.stop(Duration.ofSeconds(30));

            assertThat(received.toString()).as("what the collector received; the service's output:%n%s", service.output())
                    .contains(TracingServiceProbe.SPAN_AT_STOP);
            assertThat(service.output()).doesNotContain("Multiple shutdown calls");
        } finally {
            collector.stop(0);
        }
    }
}
