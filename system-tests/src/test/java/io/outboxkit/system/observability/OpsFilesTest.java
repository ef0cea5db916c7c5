package io.outboxkit.system.observability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.testing.PrometheusText;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The files under ops/ as Prometheus' own tool reads them: the alert rules valid and passing their
 * unit tests, the example configuration valid, the dashboard JSON with a query in every panel and
 * a panel plugin Grafana has as every panel's type.
 * (ObservabilityTest loads the rules into a real Prometheus and runs every dashboard query.)
 */
class OpsFilesTest {

    private static final Path PROMETHEUS = Path.of("").toAbsolutePath().getParent().resolve("ops/prometheus");
    private static final Path DASHBOARD = PROMETHEUS.resolveSibling("grafana/outboxkit-dashboard.json");
    /** Grafana's built-in panel plugins. */
    private static final Set<String> GRAFANA_PANEL_TYPES = Set.of("row", "timeseries", "stat", "gauge", "bargauge", "table",
            "text", "heatmap", "piechart", "barchart", "histogram", "state-timeline", "status-history", "logs");

    @Test
    void the_alert_rules_are_valid() {
        assertThat(promtool("check", "rules", "outbox-alerts.yml")).contains("SUCCESS: 7 rules found");
    }

    @Test
    void the_alert_rules_pass_their_unit_tests() {
        assertThat(promtool("test", "rules", "outbox-alerts.test.yml")).contains("SUCCESS");
    }

    @Test
    void the_example_prometheus_configuration_is_valid_and_loads_the_rules() {
        assertThat(promtool("check", "config", "prometheus.yml")).contains("is valid prometheus config file");
    }

    @Test
    void every_panel_of_the_dashboard_has_a_query_on_the_prometheus_datasource_variable() throws IOException {
        JsonNode dashboard = Jsons.mapper().readTree(DASHBOARD.toFile());
        assertThat(dashboard.path("uid").asText()).isEqualTo("outboxkit");
        List<JsonNode> panels = dashboard.path("panels").findParents("gridPos").stream()
                .filter(p -> !"row".equals(p.path("type").asText())).toList();
        assertThat(panels).hasSizeGreaterThan(10).allSatisfy(panel -> {
            assertThat(panel.path("targets")).as("panel %s", panel.path("title")).isNotEmpty();
            assertThat(panel.path("datasource").path("uid").asText()).isEqualTo("${datasource}");
        });
    }

    @Test
    void every_panel_of_the_dashboard_names_a_grafana_panel_plugin_as_its_type() throws IOException {
        // Grafana draws "Panel plugin not found" in place of a panel whose type is no plugin
        List<JsonNode> panels = Jsons.mapper().readTree(DASHBOARD.toFile()).path("panels").findParents("gridPos");
        assertThat(panels).isNotEmpty().allSatisfy(panel -> assertThat(panel.path("type").asText())
                .as("type of panel %s", panel.path("title")).isIn(GRAFANA_PANEL_TYPES));
    }

    /** Runs promtool in ops/prometheus; fails with its output unless it succeeds. */
    private static String promtool(String... args) {
        List<String> command = new java.util.ArrayList<>(List.of(PrometheusText.promtool().toString()));
        command.addAll(List.of(args));
        try {
            Process process = new ProcessBuilder(command).directory(PROMETHEUS.toFile()).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).as("promtool %s said:%n%s", String.join(" ", args), output).isZero();
            return output;
        } catch (IOException e) {
            throw new AssertionError("cannot run promtool", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
