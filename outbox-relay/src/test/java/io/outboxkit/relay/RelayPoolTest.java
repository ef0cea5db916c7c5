package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.app.Database;
import io.outboxkit.app.DatabaseSettings;
import io.outboxkit.app.Env;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The relay's pool lets every statement run for as long as STATEMENT_TIMEOUT_MS allows: its
 * connections wait for an answer that long and a margin more, so PostgreSQL's cancel comes first.
 */
class RelayPoolTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 2);

    @Test
    void a_statement_timeout_above_thirty_seconds_is_waited_for_and_ten_seconds_more() throws Exception {
        RelayConfig config = RelayConfig.from(Env.of(Map.of("STATEMENT_TIMEOUT_MS", "60000")));

        try (Database database = RelayMain.openDatabase(new DatabaseSettings(db.jdbcUrl(), db.user(), db.password()), config);
             Connection connection = database.dataSource().getConnection()) {
            assertThat(connection.getNetworkTimeout()).as("ms the driver waits for an answer").isEqualTo(70_000);
        }
    }
}
