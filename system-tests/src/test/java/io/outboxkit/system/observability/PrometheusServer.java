package io.outboxkit.system.observability;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.testing.PrometheusText;
import io.outboxkit.system.Http;
import io.outboxkit.testing.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A real Prometheus server (Debian's {@code prometheus}, beside the {@code promtool} it ships) on a
 * port of the test's own, its configuration and data in a temporary directory, scraping the given
 * targets every second and loading ops/prometheus/outbox-alerts.yml. Skipped, saying so, only when
 * it is not installed.
 */
final class PrometheusServer implements AutoCloseable {

    private final Process process;
    private final Path dir;
    private final int port;

    private PrometheusServer(Process process, Path dir, int port) {
        this.process = process;
        this.dir = dir;
        this.port = port;
    }

    /** Starts scraping {@code targets} (job name to host:port) and waits until it answers. */
    static PrometheusServer start(Map<String, String> targets, Path rules) {
        Path binary = PrometheusText.promtool().resolveSibling("prometheus");
        try {
            Path dir = Files.createTempDirectory("prometheus-test");
            Files.copy(rules, dir.resolve("outbox-alerts.yml"));
            String jobs = targets.entrySet().stream().map(t -> """
                      - job_name: %s
                        static_configs:
                          - targets: ["%s"]
                    """.formatted(t.getKey(), t.getValue())).collect(Collectors.joining());
            Files.writeString(dir.resolve("prometheus.yml"), """
                    global:
                      scrape_interval: 1s
                      scrape_timeout: 900ms
                      evaluation_interval: 1s
                    rule_files:
                      - outbox-alerts.yml
                    scrape_configs:
                    """ + jobs);
            int port = FreePorts.pick();
            Process process = new ProcessBuilder(binary.toString(), "--config.file=" + dir.resolve("prometheus.yml"),
                    "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
            PrometheusServer server = new PrometheusServer(process, dir, port);
            await("prometheus ready").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
                if (!process.isAlive()) {
                    throw new IllegalStateException("prometheus exited: " + Files.readString(dir.resolve("prometheus.log")));
                }
                try {
                    return Http.get(server.url("/-/ready")).status() == 200;
                } catch (RuntimeException e) {
                    return false;
                }
            });
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start prometheus", e);
        }
    }

    String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    /** The result of an instant query ({@code data.result}), failing on an error answer. */
    JsonNode query(String promql) {
        JsonNode answer = Http.get(url("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8))).json();
        if (!"success".equals(answer.path("status").asText())) {
            throw new AssertionError("query " + promql + " failed: " + answer);
        }
        return answer.path("data").path("result");
    }

    /** The single value of an instant query that yields one series, or NaN when it yields none. */
    double value(String promql) {
        JsonNode result = query(promql);
        return result.isEmpty() ? Double.NaN : Double.parseDouble(result.get(0).path("value").get(1).asText());
    }

    /** Its own API: e.g. {@code /api/v1/rules}. */
    JsonNode api(String path) {
        return Http.get(url(path)).json();
    }

    /** Stops the server (SIGTERM, SIGKILL after 10 s) and deletes its directory. */
    @Override
    public void close() throws IOException {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
