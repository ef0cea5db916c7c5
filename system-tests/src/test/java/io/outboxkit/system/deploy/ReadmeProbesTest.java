package io.outboxkit.system.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * README's Kubernetes probes, read as an operator copies them: a service migrates before it opens
 * a port, so without a startup probe the liveness probe restarts it mid-migration; and the probes
 * go to the HEALTH_PORT the snippet sets, which the configuration table documents; and the grace
 * period is set on the pod, long enough for the shutdown delay, the drain and a consumer's batch.
 */
class ReadmeProbesTest {

    private static final Path README = Path.of("..", "README.md");

    @Test
    void the_kubernetes_snippet_has_a_startup_probe_and_probes_the_health_port_it_sets() throws IOException {
        List<String> snippet = kubernetesSnippet();
        List<String> trimmed = snippet.stream().map(String::strip).toList();
        assertThat(trimmed).as("README's Kubernetes probes").anyMatch(l -> l.startsWith("startupProbe:"))
                .anyMatch(l -> l.startsWith("livenessProbe:")).anyMatch(l -> l.startsWith("readinessProbe:"));
        Matcher env = Pattern.compile("name: HEALTH_PORT, value: \"(\\d+)\"").matcher(String.join("\n", snippet));
        assertThat(env.find()).as("the snippet sets HEALTH_PORT").isTrue();
        for (String line : snippet) {
            if (line.contains("Probe:")) {
                assertThat(line).as("each probe on HEALTH_PORT").contains("port: " + env.group(1) + "}");
            }
        }
    }

    @Test
    void the_grace_period_is_a_pod_field_covering_the_shutdown_delay_and_the_drain() throws IOException {
        List<String> snippet = kubernetesSnippet();
        int spec = snippet.indexOf("spec:");
        assertThat(spec).as("the snippet is a pod spec").isNotNegative();
        String grace = snippet.stream().filter(l -> l.strip().startsWith("terminationGracePeriodSeconds:")).findFirst()
                .orElseThrow(() -> new AssertionError("the snippet sets terminationGracePeriodSeconds"));
        String containers = snippet.stream().filter(l -> l.strip().equals("containers:")).findFirst()
                .orElseThrow(() -> new AssertionError("the snippet's spec has containers"));
        assertThat(snippet.indexOf(grace)).as("under spec:").isGreaterThan(spec);
        assertThat(indent(grace)).as("a field of the pod's spec, beside containers, not of a container")
                .isEqualTo(indent(containers)).isGreaterThan(0);
        Matcher delay = Pattern.compile("name: SHUTDOWN_DELAY_MS, value: \"(\\d+)\"").matcher(String.join("\n", snippet));
        assertThat(delay.find()).as("the snippet sets SHUTDOWN_DELAY_MS").isTrue();
        long drainSeconds = 5;
        assertThat(seconds(grace)).as("the order service's grace period: the delay and the drain")
                .isGreaterThanOrEqualTo(Long.parseLong(delay.group(1)) / 1000 + drainSeconds);

        // A consumer with a broker source also waits up to 30 s for its batch in hand.
        Matcher consumer = Pattern.compile("consumer's pod[^`]*`terminationGracePeriodSeconds: (\\d+)`")
                .matcher(Files.readString(README));
        assertThat(consumer.find()).as("README gives the consumer's pod its own grace period").isTrue();
        assertThat(Long.parseLong(consumer.group(1))).isGreaterThanOrEqualTo(Long.parseLong(delay.group(1)) / 1000 + 30 + drainSeconds);
    }

    private static int indent(String line) {
        return line.length() - line.stripLeading().length();
    }

    private static long seconds(String graceLine) {
        Matcher m = Pattern.compile("terminationGracePeriodSeconds: (\\d+)").matcher(graceLine);
        assertThat(m.find()).isTrue();
        return Long.parseLong(m.group(1));
    }

    @Test
    void the_variables_of_the_health_checks_are_in_the_configuration_table() throws IOException {
        String readme = Files.readString(README);
        for (String variable : List.of("HEALTH_PORT", "SHUTDOWN_DELAY_MS")) {
            assertThat(readme).as(variable + " in the configuration table").contains("| `" + variable + "` |");
        }
    }

    /** The lines of the yaml block after "In Kubernetes" in the "Health checks" section. */
    private static List<String> kubernetesSnippet() throws IOException {
        List<String> lines = Files.readAllLines(README);
        int section = lines.indexOf("### Health checks");
        assertThat(section).as("README's Health checks section").isNotNegative();
        int start = -1;
        for (int i = section; i < lines.size(); i++) {
            if (lines.get(i).startsWith("In Kubernetes")) {
                start = i;
                break;
            }
        }
        assertThat(start).as("the Kubernetes snippet").isNotNegative();
        int open = lines.subList(start, lines.size()).indexOf("```yaml") + start;
        int close = lines.subList(open + 1, lines.size()).indexOf("```") + open + 1;
        return lines.subList(open + 1, close);
    }
}
