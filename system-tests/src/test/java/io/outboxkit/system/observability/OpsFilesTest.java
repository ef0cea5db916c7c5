package io.outboxkit.system.observability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.testing.PrometheusText;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

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
        assertThat(promtool("check", "rules", "outbox-alerts.yml")).contains("SUCCESS: 8 rules found");
    }

    @Test
    void the_alert_rules_pass_their_unit_tests() {
        assertThat(promtool("test", "rules", "outbox-alerts.test.yml")).contains("SUCCESS");
    }

    /**
     * Each row changes one threshold, window or {@code for:} of outbox-alerts.yml away from the
     * value README and the rules' descriptions document; the unit tests must then fail, or they
     * would not notice that value being wrong.
     */
    @ParameterizedTest(name = "{0}: {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
            "OutboxRelayDown       | for: 1m                      | for: 0m",
            "OutboxRelayDown       | for: 1m                      | for: 2m",
            "OutboxNoRelay         | for: 2m                      | for: 1m",
            "OutboxNoRelay         | for: 2m                      | for: 4m",
            "OutboxRelayNotPolling | for: 2m                      | for: 1m",
            "OutboxRelayNotPolling | for: 2m                      | for: 3m",
            "OutboxRelayNotPolling | [1m]                         | [5m]",
            "OutboxLagging         | > 300                        | > 240",
            "OutboxLagging         | > 300                        | >= 300",
            "OutboxLagging         | > 300                        | > 360",
            "OutboxLagging         | for: 2m                      | for: 1m",
            "OutboxLagging         | for: 2m                      | for: 3m",
            "OutboxLagUnknown      | for: 5m                      | for: 4m",
            "OutboxLagUnknown      | for: 5m                      | for: 6m",
            "OutboxMessagesDead    | increase(outbox_dead_total[10m]) | increase(outbox_dead_total[2m])",
            "OutboxMessagesDead    | increase(outbox_dead_total[10m]) | increase(outbox_dead_total[15m])",
            "OutboxConsumerFailing | for: 5m                      | for: 2m",
            "OutboxConsumerFailing | for: 5m                      | for: 4m",
            "OutboxConsumerFailing | for: 5m                      | for: 6m",
            "OutboxConsumerFailing | for: 5m                      | for: 8m"})
    void a_threshold_other_than_the_documented_one_fails_the_unit_tests(String alert, String documented, String other,
            @TempDir Path dir) throws IOException {
        String rules = Files.readString(PROMETHEUS.resolve("outbox-alerts.yml"));
        Files.writeString(dir.resolve("outbox-alerts.yml"), replaceInRule(rules, alert, documented, other));
        Files.copy(PROMETHEUS.resolve("outbox-alerts.test.yml"), dir.resolve("outbox-alerts.test.yml"));
        Promtool result = Promtool.run(dir, "test", "rules", "outbox-alerts.test.yml");
        assertThat(result.exitValue()).as("promtool test rules with %s's %s as %s said:%n%s", alert, documented, other, result.output())
                .isNotZero();
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

    /**
     * A figure each replica reads from a whole table is the same on every replica (the consumer's
     * ordering violations, the relay's outbox counts and oldest age): a sum across replicas would
     * count the table once per replica, so the dashboard and the rules take the highest.
     */
    @ParameterizedTest
    @ValueSource(strings = {"outbox_consumer_ordering_violations_total", "outbox_messages", "outbox_oldest_pending_age_seconds"})
    void a_figure_every_replica_reads_from_the_whole_table_is_never_summed_across_replicas(String metric) throws IOException {
        List<String> queries = new ArrayList<>(Jsons.mapper().readTree(DASHBOARD.toFile()).findValuesAsText("expr"));
        Files.readAllLines(PROMETHEUS.resolve("outbox-alerts.yml")).stream().map(String::strip)
                .filter(line -> line.startsWith("expr:")).map(line -> line.substring("expr:".length())).forEach(queries::add);
        Pattern named = Pattern.compile("\\b" + metric + "\\b");
        assertThat(queries).as("queries on %s", metric).anyMatch(query -> named.matcher(query).find());
        assertThat(queries).allSatisfy(query -> assertThat(summed(query)).as("what %s sums", query)
                .noneMatch(argument -> named.matcher(argument).find()));
    }

    /** The argument of every {@code sum} in {@code query}. */
    private static List<String> summed(String query) {
        List<String> arguments = new ArrayList<>();
        Matcher sum = Pattern.compile("\\bsum\\s*(?:(?:by|without)\\s*\\([^)]*\\)\\s*)?\\(").matcher(query);
        while (sum.find()) {
            int depth = 1;
            int end = sum.end();
            for (; end < query.length() && depth > 0; end++) {
                depth += query.charAt(end) == '(' ? 1 : query.charAt(end) == ')' ? -1 : 0;
            }
            arguments.add(query.substring(sum.end(), end));
        }
        return arguments;
    }

    /** {@code rules} with every {@code from} in rule {@code alert} replaced by {@code to}. */
    private static String replaceInRule(String rules, String alert, String from, String to) {
        int start = rules.indexOf("- alert: " + alert + "\n");
        assertThat(start).as("rule %s", alert).isNotNegative();
        int end = rules.indexOf("- alert: ", start + 1);
        String rule = rules.substring(start, end < 0 ? rules.length() : end);
        assertThat(rule).as("rule %s", alert).contains(from);
        return rules.substring(0, start) + rule.replace(from, to) + rules.substring(start + rule.length());
    }

    /** Runs promtool in ops/prometheus; fails with its output unless it succeeds. */
    private static String promtool(String... args) {
        Promtool result = Promtool.run(PROMETHEUS, args);
        assertThat(result.exitValue()).as("promtool %s said:%n%s", String.join(" ", args), result.output()).isZero();
        return result.output();
    }

    private record Promtool(int exitValue, String output) {

        /** Runs promtool in {@code dir} and waits for it (a minute at most). */
        static Promtool run(Path dir, String... args) {
            List<String> command = new java.util.ArrayList<>(List.of(PrometheusText.promtool().toString()));
            command.addAll(List.of(args));
            try {
                Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
                String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
                return new Promtool(process.exitValue(), output);
            } catch (IOException e) {
                throw new AssertionError("cannot run promtool", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
