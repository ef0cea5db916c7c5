package io.outboxkit.app.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;

/**
 * Reading a {@code GET /metrics} answer in the tests: one sample's value, and the check that the
 * whole answer parses as Prometheus text, by Prometheus' own {@code promtool check metrics}
 * (Debian's {@code prometheus} package; {@code .ci/run} installs it).
 */
public final class PrometheusText {

    /** promtool's exit status for text that parses but draws lint remarks (e.g. on Micrometer's system_cpu_count). */
    private static final int LINT_REMARKS = 3;

    private PrometheusText() {
    }

    /** The value of the sample {@code series}: a name, with its labels as the registry writes them. */
    public static double value(String text, String series) {
        Matcher line = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(text);
        assertThat(line.find()).as("a sample %s in:%n%s", series, text).isTrue();
        return Double.parseDouble(line.group(1));
    }

    /** The promtool binary; the test is skipped, saying why, only when it is not installed. */
    public static Path promtool() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path candidate = Path.of(dir, "promtool");
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        Assumptions.abort("promtool is not installed (apt-get install prometheus; .ci/run installs it): "
                + "the Prometheus text check cannot run here");
        return null;
    }

    /**
     * Fails unless {@code promtool check metrics} parses {@code text}, or remarks on one of the
     * project's own meters (naming rules), with what it said.
     */
    public static void assertParses(String text) {
        try {
            Process check = new ProcessBuilder(promtool().toString(), "check", "metrics").redirectErrorStream(true).start();
            try (OutputStream in = check.getOutputStream()) {
                in.write(text.getBytes(StandardCharsets.UTF_8));
            }
            String said = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(check.waitFor(30, TimeUnit.SECONDS)).as("promtool finished").isTrue();
            // 0: parsed, no remark; 3: parsed, with lint remarks; anything else: it did not parse.
            assertThat(check.exitValue()).as("promtool check metrics said:%n%s", said).isIn(0, LINT_REMARKS);
            // Remarks are allowed on meters of Micrometer's JVM binders only, never on the project's own.
            assertThat(said.lines()).as("promtool's remarks").noneMatch(line -> line.startsWith("outbox_")
                    || line.startsWith("orders_") || line.startsWith("http_server_"));
        } catch (IOException e) {
            throw new AssertionError("cannot run promtool", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
