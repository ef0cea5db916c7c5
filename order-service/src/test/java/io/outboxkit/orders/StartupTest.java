package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.testing.FreePorts;
import io.outboxkit.testing.PostgresExtension;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The process reads its settings from the environment; a wrong one stops the start with a message
 * naming it, before anything connects; closing what the start returned stops the server.
 */
class StartupTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OrderServiceMain.SCHEMA::apply, 2);

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({
        "PORT, abc",
        "PORT, 70000",
        "DB_URL, nonsense",
        "DB_POOL_SIZE, 0",
        "BIND_HOST, no.such.host.invalid",
        "IDEMPOTENCY_KEY_TTL_MS, 0",
        "RETENTION_INTERVAL_MS, soon",
        "HEALTH_PORT, abc",
        "HEALTH_PORT, 8080",
        "SHUTDOWN_DELAY_MS, -1",
    })
    void a_wrong_setting_fails_the_start_naming_it(String name, String value) {
        Map<String, String> env = new HashMap<>(validEnv(8080));
        env.put(name, value);

        assertThatThrownBy(() -> OrderServiceMain.start(Env.of(env)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(name + "=" + value);
    }

    @Test
    void starts_from_the_environment_and_stops_when_closed() throws Exception {
        int port = FreePorts.pick();
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                .timeout(Duration.ofSeconds(10)).build();

        AutoCloseable service = OrderServiceMain.start(Env.of(validEnv(port)));
        try {
            assertThat(client.send(health, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        } finally {
            service.close();
        }

        assertThatThrownBy(() -> client.send(health, HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(IOException.class);
    }

    @Test
    void a_port_in_use_fails_the_start_naming_it() throws Exception {
        try (ServerSocket taken = new ServerSocket(FreePorts.pick(), 50, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();

            assertThatThrownBy(() -> OrderServiceMain.start(Env.of(validEnv(port))))
                    .isInstanceOf(ConfigException.class)
                    .hasMessage("PORT=" + port + " is already in use on BIND_HOST=127.0.0.1: stop the process that "
                            + "listens there, or set PORT to a free port");
        }
    }

    /** README, Configuration: {@code DB_POOL_SIZE} for order-service and consumer is "1 to 200 connections". */
    @Test
    void starts_with_the_smallest_pool_the_readme_allows() throws Exception {
        int port = FreePorts.pick();
        Map<String, String> env = new HashMap<>(validEnv(port));
        env.put("DB_POOL_SIZE", "1");
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                .timeout(Duration.ofSeconds(10)).build();

        try (AutoCloseable service = OrderServiceMain.start(Env.of(env))) {
            assertThat(client.send(health, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void a_health_port_in_use_fails_the_start_naming_health_port_not_port() throws Exception {
        try (ServerSocket taken = new ServerSocket(FreePorts.pick(), 50, InetAddress.getByName("127.0.0.1"))) {
            Map<String, String> env = new HashMap<>(validEnv(FreePorts.pick()));
            env.put("HEALTH_PORT", Integer.toString(taken.getLocalPort()));

            assertThatThrownBy(() -> OrderServiceMain.start(Env.of(env)))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("HEALTH_PORT=" + taken.getLocalPort() + " cannot be listened on at 127.0.0.1: ")
                    .hasMessageEndingWith(" (set HEALTH_PORT to a free port, or leave it unset)");
        }
    }

    private static Map<String, String> validEnv(int port) {
        return TestDatabases.serviceEnv(db, port);
    }
}
