package io.outboxkit.system.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * docker-compose.yml's "apps" profile, read as docker compose reads it (no Docker here): the
 * services come back by themselves as the infrastructure does (after a daemon restart or a start
 * that failed while PostgreSQL restarted), and the relay is given the time its stop may take (the
 * batch in flight, up to the lease) before compose kills it and leaves that batch leased.
 */
class ComposeFileTest {

    private static final Path COMPOSE = Path.of("..", "docker-compose.yml");

    @Test
    void every_application_service_restarts_like_the_infrastructure_it_depends_on() throws IOException {
        Map<String, List<String>> services = services();
        assertThat(services.get("postgres")).as("postgres").anyMatch(l -> l.trim().startsWith("restart:"));
        List<String> without = new ArrayList<>();
        for (String app : List.of("order-service", "consumer", "outbox-relay")) {
            if (services.get(app).stream().noneMatch(l -> l.trim().startsWith("restart:"))) {
                without.add(app);
            }
        }
        assertThat(without).as("services of the apps profile without a restart policy (compose's default: never)").isEmpty();
    }

    @Test
    void the_relay_is_given_the_time_its_graceful_stop_may_take() throws IOException {
        List<String> relay = services().get("outbox-relay");
        assertThat(relay).as("outbox-relay's stop_grace_period (compose's default 10 s is shorter than the 30 s lease "
                + "Relay.close() may wait for the batch in flight)").anyMatch(l -> l.trim().startsWith("stop_grace_period:"));
    }

    /** Each top-level service's lines, by name. */
    private static Map<String, List<String>> services() throws IOException {
        Map<String, List<String>> services = new LinkedHashMap<>();
        boolean inServices = false;
        List<String> current = null;
        for (String line : Files.readAllLines(COMPOSE)) {
            if (line.startsWith("services:")) {
                inServices = true;
                continue;
            }
            if (inServices && !line.isEmpty() && !line.startsWith(" ") && !line.startsWith("#")) {
                break; // volumes:
            }
            if (inServices && line.matches("  [a-z][a-z0-9-]*:\\s*")) {
                current = new ArrayList<>();
                services.put(line.trim().replace(":", ""), current);
            } else if (current != null) {
                current.add(line);
            }
        }
        return services;
    }
}
