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
 * go to the HEALTH_PORT the snippet sets, which the configuration table documents.
 */
class ReadmeProbesTest {

    private static final Path README = Path.of("..", "README.md");

    @Test
    void the_kubernetes_snippet_has_a_startup_probe_and_probes_the_health_port_it_sets() throws IOException {
        List<String> snippet = kubernetesSnippet();
        assertThat(snippet).as("README's Kubernetes probes").anyMatch(l -> l.startsWith("startupProbe:"))
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
