package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.app.ServiceMain;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.ChildJvm;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.Secrets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The relay process never prints a password: started by its real {@code main} in a JVM of its own,
 * logging at debug (the PostgreSQL driver's at ALL), with a distinctive DB_PASSWORD and another
 * password in DB_URL, it relays (failing to reach its consumer, which it logs), is stopped with
 * SIGTERM, or fails to start (an unreachable database, a URL with the password before the host);
 * all it prints is searched.
 */
class SecretsNeverLoggedTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 2);

    static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void neither_password_appears_when_it_relays_stops_or_fails_to_start() throws Exception {
        new TestOutbox(db).write(java.util.UUID.randomUUID().toString(), "OrderCreated");
        Map<String, String> unreachable = env();
        unreachable.put("DB_URL", "jdbc:postgresql://127.0.0.1:1/outbox?password=" + Secrets.URL_PASSWORD);
        Map<String, String> userInfo = env();
        userInfo.put("DB_URL", Secrets.userInfoUrl());

        try (ChildJvm relay = start(env()); ChildJvm noDatabase = start(unreachable); ChildJvm badUrl = start(userInfo)) {
            if (relay.awaitOutput("relaying to", WAIT)) {
                assertThat(relay.awaitOutput("failed", WAIT)).as("the failed delivery is logged: " + relay.output()).isTrue();
                assertThat(relay.stop(WAIT)).as(relay.output()).isIn(0, 143);
                assertThat(relay.output()).as("the pool's configuration, logged at debug").contains("jdbcUrl.....");
            } else {
                assertThat(relay.waitFor(WAIT)).as("a server that checks passwords refuses them").isEqualTo(2);
            }
            assertThat(Secrets.linesWithASecret(relay.output())).as("relaying, then stopping").isEmpty();

            for (ChildJvm failed : new ChildJvm[] {noDatabase, badUrl}) {
                assertThat(failed.waitFor(WAIT)).as(failed.output()).isEqualTo(ServiceMain.EXIT_START_FAILED);
                assertThat(failed.output().lines().filter(line -> line.startsWith("outbox-relay: cannot start: "))).hasSize(1);
                assertThat(Secrets.linesWithASecret(failed.output())).as("failing to start").isEmpty();
            }
        }
    }

    /**
     * A password in a broker's URI never appears either: RabbitMQ refusing it stops the start with
     * one line; NATS that cannot be reached lets the relay start and fail its deliveries, logged.
     */
    @Test
    void a_brokers_password_appears_neither_when_the_broker_refuses_it_nor_while_it_cannot_be_reached() throws Exception {
        new TestOutbox(db).write(java.util.UUID.randomUUID().toString(), "OrderCreated");
        Map<String, String> rabbit = env();
        rabbit.put("SINK", "rabbitmq");
        rabbit.put("RABBITMQ_URI", "amqp://guest:" + Secrets.URL_PASSWORD + "@127.0.0.1:5672/%2F");
        Map<String, String> nats = env();
        nats.put("SINK", "nats");
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            nats.put("NATS_URL", "nats://app:" + Secrets.URL_PASSWORD + "@127.0.0.1:" + free.getLocalPort());
        }

        try (ChildJvm refused = start(rabbit); ChildJvm unreachable = start(nats)) {
            assertThat(refused.waitFor(WAIT)).as(refused.output()).isEqualTo(ServiceMain.EXIT_START_FAILED);
            assertThat(refused.output().lines().filter(line -> line.startsWith("outbox-relay: cannot start: SINK=rabbitmq: ")))
                    .as(refused.output()).hasSize(1);
            assertThat(Secrets.linesWithASecret(refused.output())).as("refused").isEmpty();

            assertThat(unreachable.awaitOutput("relaying to nats at nats://app:***@127.0.0.1:", WAIT)).as(unreachable.output())
                    .isTrue();
            assertThat(unreachable.awaitOutput("nats not connected yet", WAIT)).as("the failed delivery is logged: "
                    + unreachable.output()).isTrue();
            assertThat(unreachable.stop(WAIT)).as(unreachable.output()).isIn(0, 143);
            assertThat(Secrets.linesWithASecret(unreachable.output())).as("unreachable").isEmpty();
        }
    }

    private static ChildJvm start(Map<String, String> env) {
        return ChildJvm.start(RelayMain.class.getName(), env, ChildJvm.withVerboseLogging());
    }

    private static Map<String, String> env() {
        Map<String, String> env = new HashMap<>(Secrets.databaseEnv(db));
        env.put("PORT", "0");
        env.put("CONSUMER_URL", "http://127.0.0.1:1/messages");
        env.put("POLL_INTERVAL_MS", "100");
        env.put("BACKOFF_INITIAL_MS", "100");
        env.put("BACKOFF_MAX_MS", "200");
        return env;
    }
}
