package io.outboxkit.app.observability;

import static io.outboxkit.app.testing.PrometheusText.value;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.outboxkit.app.Env;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Issue 17 and README: every service's /metrics uses base units (seconds, bytes). Micrometer's
 * ProcessorMetrics registers the process' CPU time in nanoseconds (process_cpu_time_ns_total),
 * which `promtool check metrics` flags and a dashboard reading it as seconds is off by 10^9.
 */
class BaseUnitsTest {

    private static final Pattern NON_BASE_UNIT = Pattern.compile("^[a-z_]*_(ns|nanoseconds|ms|milliseconds|us|microseconds)(_total)?[ {]");

    @Test
    void every_meter_a_service_serves_is_in_base_units() {
        try (Observability observability = Observability.start("consumer", Env.of(Map.of()))) {
            String text = ((PrometheusMeterRegistry) observability.registry()).scrape();
            List<String> offending = text.lines().filter(l -> !l.startsWith("#"))
                    .filter(l -> NON_BASE_UNIT.matcher(l).find()).toList();
            assertThat(offending).isEmpty();
        }
    }

    @Test
    void the_process_cpu_time_is_served_once_in_seconds() {
        try (Observability observability = Observability.start("consumer", Env.of(Map.of()))) {
            String text = ((PrometheusMeterRegistry) observability.registry()).scrape();
            List<String> cpuTimes = text.lines().filter(l -> !l.startsWith("#"))
                    .filter(l -> l.startsWith("process_cpu_") && !l.startsWith("process_cpu_usage")).toList();
            assertThat(cpuTimes).hasSize(1).allMatch(l -> l.startsWith("process_cpu_seconds_total "));
            assertThat(value(text, "process_cpu_seconds_total")).as("this JVM's CPU time so far, in seconds")
                    .isGreaterThan(0).isLessThan(100_000);
        }
    }
}
