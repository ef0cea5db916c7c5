package io.outboxkit.system.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * run.sh starts three services on one machine and stops them within its own timeout, so it keeps
 * out of their environment the settings that only make sense per service under an orchestrator:
 * one HEALTH_PORT for all would be bound twice, and a long SHUTDOWN_DELAY_MS outlasts its stop.
 */
class RunScriptTest {

    private static final Path RUN_SH = Path.of("..", "run.sh");

    @Test
    void the_services_it_starts_get_no_health_port_or_shutdown_delay_from_the_callers_environment() throws IOException {
        List<String> launches = Files.readAllLines(RUN_SH).stream()
                .filter(l -> l.strip().startsWith("launch \"$name\"") && l.contains(" java "))
                .toList();
        assertThat(launches).as("start_service's launch of a service").hasSize(1);
        assertThat(launches.get(0)).contains("env -u HEALTH_PORT -u SHUTDOWN_DELAY_MS ");
    }
}
