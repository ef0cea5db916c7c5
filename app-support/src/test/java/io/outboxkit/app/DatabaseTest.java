package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.workaround.PgjdbcPromptNotificationSocketFactory;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The services' pool hands a poller's LISTEN connection each notification as it arrives. */
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
    void a_parameter_the_driver_refuses_is_named_with_the_user_the_url_gives() {
        String url = db.jdbcUrl() + (db.jdbcUrl().contains("?") ? "&" : "?") + "connectTimeout=abc&user=" + db.user();

        assertThatThrownBy(() -> Database.open(new DatabaseSettings(url, "someone_else", db.password()), "database-test", 1,
                ServiceSchema.outboxOnly(OutboxNames.DEFAULT)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("as user " + db.user() + ": ")
                .hasMessageContaining("connectTimeout")
                .hasMessageContaining("abc");
    }
}
