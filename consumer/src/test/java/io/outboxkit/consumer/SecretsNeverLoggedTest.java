package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.app.ServiceMain;
import io.outboxkit.testing.ChildJvm;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.RawHttp;
import io.outboxkit.testing.Secrets;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The consumer process never prints a password: started by its real {@code main} in a JVM of its
 * own, logging at debug (the PostgreSQL driver's at ALL), with a distinctive DB_PASSWORD and
 * another password in DB_URL, it serves, is stopped with SIGTERM, or fails to start (an
 * unreachable database, a URL with the password before the host); all it prints is searched.
 */
class SecretsNeverLoggedTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply, 2);

    static final Duration WAIT = Duration.ofSeconds(60);
    static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");

    @Test
    void neither_password_appears_when_it_serves_stops_or_fails_to_start() throws Exception {
        Map<String, String> unreachable = env();
        unreachable.put("DB_URL", "jdbc:postgresql://127.0.0.1:1/outbox?password=" + Secrets.URL_PASSWORD);
        Map<String, String> userInfo = env();
        userInfo.put("DB_URL", Secrets.userInfoUrl());

        try (ChildJvm consumer = start(env()); ChildJvm noDatabase = start(unreachable); ChildJvm badUrl = start(userInfo)) {
            if (consumer.awaitOutput("listening on", WAIT)) {
                Matcher port = LISTENING.matcher(consumer.output());
                assertThat(port.find()).as(consumer.output()).isTrue();
                RawHttp http = new RawHttp("127.0.0.1", Integer.parseInt(port.group(1)));
                assertThat(http.request("GET", "/health", null).status()).isEqualTo(200);
                assertThat(http.request("POST", "/messages", "{\"id\": 1}".getBytes(StandardCharsets.UTF_8),
                        "Content-Type", "application/json").status()).isEqualTo(400);
                assertThat(consumer.stop(WAIT)).as(consumer.output()).isIn(0, 143);
            } else {
                assertThat(consumer.waitFor(WAIT)).as("a server that checks passwords refuses them").isEqualTo(2);
            }
            assertThat(consumer.output()).as("the pool's configuration, logged at debug").contains("jdbcUrl.....");
            assertThat(Secrets.linesWithASecret(consumer.output())).as("serving, then stopping").isEmpty();

            for (ChildJvm failed : new ChildJvm[] {noDatabase, badUrl}) {
                assertThat(failed.waitFor(WAIT)).as(failed.output()).isEqualTo(ServiceMain.EXIT_START_FAILED);
                assertThat(failed.output().lines().filter(line -> line.startsWith("consumer: cannot start: "))).hasSize(1);
                assertThat(Secrets.linesWithASecret(failed.output())).as("failing to start").isEmpty();
            }
        }
    }

    @Test
    void a_brokers_password_does_not_appear_when_the_broker_refuses_it() throws Exception {
        Map<String, String> rabbit = env();
        rabbit.put("SOURCE", "rabbitmq");
        rabbit.put("RABBITMQ_URI", "amqp://guest:" + Secrets.URL_PASSWORD + "@127.0.0.1:5672/%2F");

        try (ChildJvm refused = start(rabbit)) {
            assertThat(refused.waitFor(WAIT)).as(refused.output()).isEqualTo(ServiceMain.EXIT_START_FAILED);
            assertThat(refused.output().lines().filter(line -> line.startsWith("consumer: cannot start: SOURCE=rabbitmq: ")))
                    .as(refused.output()).hasSize(1);
            assertThat(Secrets.linesWithASecret(refused.output())).isEmpty();
        }
    }

    private static ChildJvm start(Map<String, String> env) {
        return ChildJvm.start(ConsumerMain.class.getName(), env, ChildJvm.withVerboseLogging());
    }

    private static Map<String, String> env() {
        Map<String, String> env = new HashMap<>(Secrets.databaseEnv(db));
        env.put("PORT", "0");
        env.put("BIND_HOST", "127.0.0.1");
        env.put("DB_POOL_SIZE", "2");
        return env;
    }
}
