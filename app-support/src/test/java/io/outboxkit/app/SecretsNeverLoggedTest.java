package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.testing.ChildJvm;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A password never appears in what a service prints, whatever the database does with it: the
 * process is started as the services start ({@link ServiceMain} around {@link Database#open}),
 * in a JVM of its own with logging raised to debug (the pool's configuration dump, Flyway, the
 * PostgreSQL driver's java.util.logging at ALL), with a distinctive {@code DB_PASSWORD} and
 * another password in {@code DB_URL}; everything it prints is searched for both.
 */
class SecretsNeverLoggedTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 2);

    static final String PASSWORD = "s3cr3t-Hunter2";
    static final String URL_PASSWORD = "s3cr3t-InTheUrl";
    static final Duration EXIT = Duration.ofSeconds(40);

    /** A URL of the test server's database {@code database}, with no parameter but the password. */
    static String url(String database) {
        return db.jdbcUrl().replaceFirst("^(jdbc:postgresql://[^/?]+/).*$", "$1") + database + "?password=" + URL_PASSWORD;
    }

    static String databaseName() {
        return db.jdbcUrl().replaceFirst("^jdbc:postgresql://[^/?]+/([^?]*).*$", "$1");
    }

    @Test
    void a_service_that_connects_prints_neither_password_from_start_to_stop() throws Exception {
        try (ChildJvm service = ChildJvm.start(DatabaseServiceProbe.class.getName(), env(url(databaseName()), db.user()),
                ChildJvm.withVerboseLogging())) {
            boolean opened = service.awaitOutput(DatabaseServiceProbe.OPEN, EXIT);
            // A server that checks passwords refuses these (exit 2); one that trusts the address lets it in.
            int status = opened ? service.stop(EXIT) : service.waitFor(EXIT);

            assertThat(status).as(service.output()).isIn(0, 143, ServiceMain.EXIT_START_FAILED);
            assertThat(service.output()).as("the pool's configuration, logged at debug").contains("jdbcUrl....");
            assertNoSecret(service.output());
        }
    }

    /**
     * Each start that fails, all at once (a refused login waits for the pool's 10 s initialisation
     * timeout): exit status 2, one line naming the problem, and neither password anywhere.
     */
    @Test
    void a_start_that_fails_prints_one_line_without_either_password() throws Exception {
        Map<String, List<String>> scenarios = new LinkedHashMap<>();
        scenarios.put("nothing listens on the port", List.of("jdbc:postgresql://127.0.0.1:1/outbox?password="
                + URL_PASSWORD, "postgres", "cannot connect to PostgreSQL at jdbc:postgresql://127.0.0.1:1/outbox?password=***"));
        scenarios.put("a port that is not a number", List.of("jdbc:postgresql://127.0.0.1:notaport/outbox?password="
                + URL_PASSWORD, "postgres", "has port \"notaport\": a port is 1 to 65535"));
        scenarios.put("user and password before the host", List.of("jdbc:postgresql://postgres:" + URL_PASSWORD
                + "@127.0.0.1:1/outbox", "postgres", "has a user or password before the host"));
        scenarios.put("a libpq URI instead of a JDBC URL", List.of("postgresql://postgres:" + URL_PASSWORD
                + "@127.0.0.1:1/outbox", "postgres", "is not a PostgreSQL JDBC URL"));
        scenarios.put("a password badly percent-encoded", List.of("jdbc:postgresql://127.0.0.1:1/outbox?password="
                + URL_PASSWORD + "%ZZ&sslmode=disable", "postgres", "not valid percent-encoding"));
        scenarios.put("the server refuses: no such database", List.of(url("outbox_no_such_database"), db.user(), "FATAL"));
        scenarios.put("the server refuses: no such role", List.of(url(databaseName()), "outbox_no_such_role", "FATAL"));

        Map<String, ChildJvm> running = new LinkedHashMap<>();
        List<ChildJvm> all = new ArrayList<>();
        try {
            scenarios.forEach((what, s) -> {
                ChildJvm jvm = ChildJvm.start(DatabaseServiceProbe.class.getName(), env(s.get(0), s.get(1)),
                        ChildJvm.withVerboseLogging());
                running.put(what, jvm);
                all.add(jvm);
            });
            SoftAssertions softly = new SoftAssertions();
            for (Map.Entry<String, ChildJvm> entry : running.entrySet()) {
                ChildJvm service = entry.getValue();
                int status = service.waitFor(EXIT);
                String output = service.output();
                softly.assertThat(status).as(entry.getKey() + ": exit status; output:\n" + output)
                        .isEqualTo(ServiceMain.EXIT_START_FAILED);
                softly.assertThat(output.lines().filter(line -> line.startsWith("secret-probe: cannot start: ")))
                        .as(entry.getKey() + ": the one line on stderr").singleElement().asString()
                        .contains(scenarios.get(entry.getKey()).get(2));
                softly.assertThat(linesWithASecret(output)).as(entry.getKey() + ": lines printed with a password")
                        .isEmpty();
            }
            softly.assertAll();
        } finally {
            all.forEach(ChildJvm::close);
        }
    }

    @Test
    void settings_show_no_password_in_their_text_or_their_errors() {
        DatabaseSettings settings = new DatabaseSettings(
                "jdbc:postgresql://db:5432/outbox?user=u&password=" + URL_PASSWORD + "&sslmode=disable", "u", PASSWORD);

        assertThat(settings.toString()).doesNotContain(PASSWORD, URL_PASSWORD).contains("password=***");
        assertThat(settings.redactedUrl()).isEqualTo("jdbc:postgresql://db:5432/outbox?user=u&password=***&sslmode=disable");
        assertThatThrownBy(() -> new DatabaseSettings("mysql://root:" + PASSWORD + "@db/x?password=" + URL_PASSWORD, "u",
                PASSWORD))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain(PASSWORD, URL_PASSWORD));
    }

    @Test
    void the_password_in_the_url_goes_to_the_driver_as_a_property_never_in_the_url() {
        DatabaseSettings settings = new DatabaseSettings(
                "jdbc:postgresql://db:5432/outbox?password=a%26b%3Dc&sslmode=disable", "u", PASSWORD);

        assertThat(settings.urlWithoutPassword()).isEqualTo("jdbc:postgresql://db:5432/outbox?sslmode=disable");
        assertThat(settings.effectivePassword()).as("the URL's, decoded, as the driver would use it").isEqualTo("a&b=c");
        assertThat(new DatabaseSettings("jdbc:postgresql://db/outbox?password=", "u", PASSWORD).urlWithoutPassword())
                .isEqualTo("jdbc:postgresql://db/outbox");
        assertThat(new DatabaseSettings("jdbc:postgresql://db/outbox", "u", PASSWORD).effectivePassword())
                .isEqualTo(PASSWORD);
    }

    private static Map<String, String> env(String url, String user) {
        return Map.of("DB_URL", url, "DB_USER", user, "DB_PASSWORD", PASSWORD);
    }

    private static void assertNoSecret(String output) {
        assertThat(linesWithASecret(output)).as("lines the process printed with a password").isEmpty();
    }

    private static List<String> linesWithASecret(String output) {
        return output.lines().filter(line -> line.contains(PASSWORD) || line.contains(URL_PASSWORD)).toList();
    }
}
