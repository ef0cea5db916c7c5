package io.outboxkit.system;

import io.outboxkit.app.ServiceSchema;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.testing.PostgresExtension;
import java.nio.file.Path;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;

/**
 * The database a {@link RunningSystem} runs on: how the services connect to it, and a {@link Jdbi}
 * for the test's own reads and writes.
 */
public interface TestDatabase {

    /** The JDBC URL the services get as {@code DB_URL}. */
    String url();

    /** {@code DB_USER}. */
    String user();

    /** {@code DB_PASSWORD} (empty when none is needed). */
    String password();

    /** The test's own access to the same database. */
    Jdbi jdbi();

    /**
     * Creates what the services would at start, before any of them runs: outbox-core's tables and
     * the order service's and the consumer's own, from their sources.
     */
    static void createSchemas(DataSource dataSource) {
        for (String[] service : new String[][] {{"order_service", "order-service"}, {"consumer", "consumer"}}) {
            Path location = Path.of("..", service[1], "src/main/resources/db", service[1]).toAbsolutePath().normalize();
            ServiceSchema.withOwnTables(OutboxNames.DEFAULT, service[0], "filesystem:" + location).apply(dataSource);
        }
    }

    /** A class's database from the shared test server. */
    static TestDatabase of(PostgresExtension db) {
        return new TestDatabase() {
            @Override
            public String url() {
                return db.jdbcUrl();
            }

            @Override
            public String user() {
                return db.user() == null ? "postgres" : db.user();
            }

            @Override
            public String password() {
                return db.password() == null ? "" : db.password();
            }

            @Override
            public Jdbi jdbi() {
                return db.jdbi();
            }
        };
    }
}
