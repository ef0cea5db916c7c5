package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.ChildJvm;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.Secrets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * replay-cli never prints a password: run by its real {@code main} in a JVM of its own, logging
 * at debug (the PostgreSQL driver's at ALL), with a distinctive DB_PASSWORD and another password
 * in DB_URL or --db-url, whether it lists, cannot reach the database, or is given a URL with the
 * password before the host; it prints one line on failure and neither password anywhere.
 */
class SecretsNeverLoggedTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 2);

    static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void neither_password_appears_whether_the_command_works_or_fails() throws Exception {
        Map<String, String> unreachable = new HashMap<>(Secrets.databaseEnv(db));
        unreachable.put("DB_URL", "jdbc:postgresql://127.0.0.1:1/outbox?password=" + Secrets.URL_PASSWORD);
        Map<String, String> userInfo = new HashMap<>(Secrets.databaseEnv(db));
        userInfo.put("DB_URL", Secrets.userInfoUrl());

        try (ChildJvm list = run(Secrets.databaseEnv(db), "list", "--status", "dead");
             ChildJvm noDatabase = run(unreachable, "requeue", "--dead");
             ChildJvm badEnvUrl = run(userInfo, "list", "--status", "pending");
             ChildJvm badOptionUrl = run(Secrets.databaseEnv(db), "list", "--status", "pending", "--db-url",
                     Secrets.userInfoUrl())) {
            int listed = list.waitFor(WAIT);
            assertThat(listed).as(list.output()).isIn(ReplayCli.EXIT_OK, ReplayCli.EXIT_FAILED);
            assertThat(list.output()).as("the pool's configuration, logged at debug").contains("jdbcUrl.....");
            assertThat(Secrets.linesWithASecret(list.output())).as("listing").isEmpty();

            for (ChildJvm failed : List.of(noDatabase, badEnvUrl, badOptionUrl)) {
                assertThat(failed.waitFor(WAIT)).as(failed.output()).isIn(ReplayCli.EXIT_FAILED, ReplayCli.EXIT_USAGE);
                assertThat(failed.output().lines().filter(line -> line.startsWith("replay-cli "))).hasSize(1);
                assertThat(Secrets.linesWithASecret(failed.output())).as("failing").isEmpty();
            }
        }
    }

    private static ChildJvm run(Map<String, String> env, String... args) {
        return ChildJvm.start(ReplayCli.class.getName(), env, ChildJvm.withVerboseLogging(), args);
    }
}
