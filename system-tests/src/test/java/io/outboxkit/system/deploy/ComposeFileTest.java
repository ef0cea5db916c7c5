package io.outboxkit.system.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import io.outboxkit.core.OutboxPoller;
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
        // The batch in flight, up to the lease, then the worker's interrupt and join and the listener's.
        assertThat(stopGracePeriod("outbox-relay")).as("outbox-relay's stop_grace_period")
                .isGreaterThanOrEqualTo(OutboxPoller.DEFAULT_LEASE.plusSeconds(15));
    }

    @Test
    void the_consumer_is_given_the_time_a_broker_sources_stop_may_take() throws IOException {
        // The sources' bound on finishing and acknowledging the batch in hand (Kafka's, NATS' ack wait,
        // RabbitMQ's): 30 s each.
        assertThat(stopGracePeriod("consumer")).as("consumer's stop_grace_period")
                .isGreaterThanOrEqualTo(Duration.ofSeconds(30 + 10));
    }

    /**
     * README's "Health checks": /health/ready is "for a readiness probe and for depends_on:
     * {condition: service_healthy}". The relay delivers to the consumer, so it should wait for the
     * consumer's readiness, not for its container to have started (JVM start and migrations
     * before it listens: the first batches fail and back off meanwhile).
     */
    @Test
    void the_relay_waits_for_the_consumer_to_be_ready() throws IOException {
        Map<String, List<String>> services = services();
        assertThat(services.get("consumer")).as("consumer's healthcheck on /health/ready")
                .anyMatch(l -> l.contains("/health/ready"));
        assertThat(services.get("outbox-relay")).as("outbox-relay's depends_on the consumer")
                .anyMatch(l -> l.trim().startsWith("consumer:") && l.contains("service_healthy"));
    }

    /**
     * README's "Configuration": order-service, the consumer and the relay each read the outbox's names,
     * and must read the same ones, or the relay claims from an outbox no service writes to. The host's
     * values go to all three through the environment they share.
     */
    @Test
    void the_outbox_s_names_reach_all_three_services() throws IOException {
        Map<String, List<String>> services = services();
        List<String> shared = services.get("order-service");
        assertThat(shared).as("order-service's environment, the one the others merge").contains("    environment: &database");
        for (String variable : List.of("OUTBOX_SCHEMA", "OUTBOX_TABLE", "PROCESSED_TABLE", "OUTBOX_CHANNEL")) {
            assertThat(shared).as("the shared environment passes on " + variable)
                    .contains("      " + variable + ": ${" + variable + ":-}");
        }
        for (String app : List.of("consumer", "outbox-relay")) {
            assertThat(services.get(app)).as(app + "'s environment merges the shared one")
                    .anyMatch(l -> l.trim().startsWith("<<:") && l.contains("*database"));
        }
    }

    /** A service's stop_grace_period (compose's default, 10 s, when it sets none). */
    private static Duration stopGracePeriod(String service) throws IOException {
        return services().get(service).stream().map(String::trim).filter(l -> l.startsWith("stop_grace_period:"))
                .map(l -> l.substring("stop_grace_period:".length()).trim())
                .map(v -> {
                    Matcher m = Pattern.compile("(\\d+)(s|m)").matcher(v);
                    assertThat(m.matches()).as("a period in s or m: " + v).isTrue();
                    long n = Long.parseLong(m.group(1));
                    return m.group(2).equals("m") ? Duration.ofMinutes(n) : Duration.ofSeconds(n);
                })
                .findFirst().orElse(Duration.ofSeconds(10));
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
