package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.testing.PostgresExtension;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * While PostgreSQL refuses connections the API answers 503 within seconds (never hangs, never
 * 500), health says unavailable, and everything works again once it is back.
 */
class DatabaseOutageTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OrderServiceMain.SCHEMA::apply);

    private static RunningOrderService service;

    @BeforeAll
    static void start() {
        service = RunningOrderService.start(db);
    }

    @AfterAll
    static void stop() {
        service.close();
    }

    @Test
    void answers_503_quickly_while_the_database_is_unreachable_and_recovers() throws Exception {
        assertThat(service.get("/health").statusCode()).isEqualTo(200);
        String database = db.jdbi().withHandle(h -> h.createQuery("SELECT current_database()").mapTo(String.class).one());

        try (Connection admin = adminConnection(database); Statement sql = admin.createStatement()) {
            // Refuse new connections to the test database and cut the open ones.
            sql.execute("ALTER DATABASE \"" + database + "\" ALLOW_CONNECTIONS false");
            try {
                sql.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + database + "'");

                long started = System.nanoTime();
                HttpResponse<String> create = service.createOrder(UUID.randomUUID().toString(), "1",
                        "Idempotency-Key", UUID.randomUUID().toString());
                Duration took = Duration.ofNanos(System.nanoTime() - started);

                assertThat(create.statusCode()).as(create.body()).isEqualTo(503);
                assertThat(create.body()).isEqualTo("{\"error\":\"database unavailable, try again shortly\"}");
                assertThat(took).isLessThan(Duration.ofSeconds(8));
                assertThat(service.get("/orders/" + UUID.randomUUID()).statusCode()).isEqualTo(503);
                // Readiness keeps its reading for a second (probes cost the database one query a second):
                // the 200 read just before the outage may still answer until then.
                await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
                    HttpResponse<String> health = service.get("/health");
                    assertThat(health.statusCode()).isEqualTo(503);
                    assertThat(health.body()).isEqualTo("{\"status\":\"unavailable\",\"error\":\"database is not answering\"}");
                });
            } finally {
                sql.execute("ALTER DATABASE \"" + database + "\" ALLOW_CONNECTIONS true");
            }
        }

        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                .until(() -> service.get("/health").statusCode() == 200);
        assertThat(service.createOrder(UUID.randomUUID().toString(), "1").statusCode()).isEqualTo(201);
        // The test's own pool may still hand out a connection that was cut: retry past it.
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() ->
                assertThat(new Rows(db.jdbi()).count("idempotency_keys")).as("the refused request stored nothing").isZero());
    }

    /** A connection to the server's {@code postgres} database: the test database cannot lock itself out. */
    private static Connection adminConnection(String database) throws SQLException {
        String url = db.jdbcUrl().replaceFirst("/" + Pattern.quote(database) + "(?=\\?|$)", "/postgres");
        return DriverManager.getConnection(url, db.login());
    }

}
