package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.workaround.PgjdbcPromptNotificationSocketFactory;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The services' pool hands a poller's LISTEN connection each notification as it arrives, and waits
 * for a statement's answer as long as the service declares its statements may run.
 */
class DatabaseTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 2);

    @Test
    void its_connections_are_made_on_sockets_that_hand_over_notifications_at_once() {
        try (Database database = Database.open(new DatabaseSettings(db.jdbcUrl(), db.user(), db.password()),
                "database-test", 2, ServiceSchema.outboxOnly(OutboxNames.DEFAULT))) {
            assertThat(((HikariDataSource) database.dataSource()).getDataSourceProperties())
                    .containsEntry("socketFactory", PgjdbcPromptNotificationSocketFactory.class.getName());
        }
    }

    @Test
    void a_connection_waits_for_an_answer_as_long_as_the_longest_statement_declared_and_ten_seconds_more() throws Exception {
        assertThat(networkTimeoutMillis(Duration.ofSeconds(60))).isEqualTo(70_000);
        assertThat(networkTimeoutMillis(Duration.ofMillis(30_001))).as("rounded up to a second").isEqualTo(41_000);
    }

    @Test
    void a_service_that_declares_no_longer_statement_waits_thirty_seconds() throws Exception {
        assertThat(networkTimeoutMillis(Duration.ofSeconds(1))).isEqualTo(30_000);
        try (Database opened = Database.open(settings(), "database-test", 2, ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
             Database connected = Database.connect(settings(), "database-test", 1)) {
            assertThat(networkTimeoutMillis(opened)).isEqualTo(30_000);
            assertThat(networkTimeoutMillis(connected)).isEqualTo(30_000);
        }
    }

    @Test
    void the_longest_statement_timeout_postgresql_accepts_is_waited_for_without_a_limit() throws Exception {
        // Its 24.8 days and the margin are more milliseconds than the driver's int holds.
        assertThat(networkTimeoutMillis(Duration.ofMillis(Integer.MAX_VALUE))).isZero();
    }

    @Test
    void a_parameter_the_driver_refuses_is_named_with_the_user_the_url_gives() {
        String url = db.jdbcUrl() + (db.jdbcUrl().contains("?") ? "&" : "?") + "connectTimeout=abc&user=" + db.user();

        assertThatThrownBy(() -> Database.open(new DatabaseSettings(url, "someone_else", db.password()), "database-test", 1,
                ServiceSchema.outboxOnly(OutboxNames.DEFAULT)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("as user " + db.user() + ": ")
                .hasMessageContaining("connectTimeout")
                .hasMessageContaining("abc");
    }

    private static int networkTimeoutMillis(Duration longestStatement) throws SQLException {
        try (Database database = Database.open(settings(), "database-test", 2, ServiceSchema.outboxOnly(OutboxNames.DEFAULT),
                longestStatement)) {
            return networkTimeoutMillis(database);
        }
    }

    /** How long the driver waits for an answer on one of the pool's connections: its socketTimeout. */
    private static int networkTimeoutMillis(Database database) throws SQLException {
        try (Connection connection = database.dataSource().getConnection()) {
            return connection.getNetworkTimeout();
        }
    }

    private static DatabaseSettings settings() {
        return new DatabaseSettings(db.jdbcUrl(), db.user(), db.password());
    }
}
