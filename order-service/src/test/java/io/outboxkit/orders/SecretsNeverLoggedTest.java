package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.app.ServiceMain;
import io.outboxkit.testing.ChildJvm;
import io.outboxkit.testing.FreePorts;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.RawHttp;
import io.outboxkit.testing.Secrets;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The order-service process never prints a password: started by its real {@code main} in a JVM of
 * its own, logging at debug (the PostgreSQL driver's at ALL), with a distinctive DB_PASSWORD and
 * another password in DB_URL, it serves, is stopped with SIGTERM, or fails to start (an
 * unreachable database, a URL with the password before the host); all it prints is searched.
 */
class SecretsNeverLoggedTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OrderServiceMain.SCHEMA::apply, 2);

    static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void neither_password_appears_when_it_serves_stops_or_fails_to_start() throws Exception {
        int port = FreePorts.pick();
        Map<String, String> serving = env(Secrets.databaseEnv(db), port);
        Map<String, String> unreachable = env(Secrets.databaseEnv(db), FreePorts.pick());
        unreachable.put("DB_URL", "jdbc:postgresql://127.0.0.1:1/outbox?password=" + Secrets.URL_PASSWORD);
        Map<String, String> userInfo = env(Secrets.databaseEnv(db), FreePorts.pick());
        userInfo.put("DB_URL", Secrets.userInfoUrl());

        try (ChildJvm service = start(serving); ChildJvm noDatabase = start(unreachable); ChildJvm badUrl = start(userInfo)) {
            if (service.awaitOutput("listening on", WAIT)) {
                RawHttp http = new RawHttp("127.0.0.1", port);
                assertThat(http.request("GET", "/health", null).status()).isEqualTo(200);
                assertThat(http.request("POST", "/orders", "{\"user_id\": 1}".getBytes(StandardCharsets.UTF_8),
                        "Content-Type", "application/json").status()).isEqualTo(400);
                assertThat(service.stop(WAIT)).as(service.output()).isIn(0, 143);
            } else {
                assertThat(service.waitFor(WAIT)).as("a server that checks passwords refuses them").isEqualTo(2);
            }
            assertThat(service.output()).as("the pool's configuration, logged at debug").contains("jdbcUrl.....");
            assertThat(Secrets.linesWithASecret(service.output())).as("serving, then stopping").isEmpty();

            for (ChildJvm failed : new ChildJvm[] {noDatabase, badUrl}) {
                assertThat(failed.waitFor(WAIT)).as(failed.output()).isEqualTo(ServiceMain.EXIT_START_FAILED);
                assertThat(failed.output().lines().filter(line -> line.startsWith(OrderServiceMain.NAME + ": cannot start: ")))
                        .hasSize(1);
                assertThat(Secrets.linesWithASecret(failed.output())).as("failing to start").isEmpty();
            }
        }
    }

    private static ChildJvm start(Map<String, String> env) {
        return ChildJvm.start(OrderServiceMain.class.getName(), env, ChildJvm.withVerboseLogging());
    }

    private static Map<String, String> env(Map<String, String> database, int port) {
        Map<String, String> env = new HashMap<>(database);
        env.put("PORT", Integer.toString(port));
        env.put("BIND_HOST", "127.0.0.1");
        env.put("DB_POOL_SIZE", "2");
        return env;
    }
}
