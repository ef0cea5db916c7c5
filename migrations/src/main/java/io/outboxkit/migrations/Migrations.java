package io.outboxkit.migrations;

import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * The project's schema, applied with Flyway from {@code classpath:db/migration/outboxkit}.
 *
 * <p>Applying is idempotent and safe when several processes start at once: Flyway takes a
 * PostgreSQL advisory lock, so one process migrates and the others find the schema current.
 */
public final class Migrations {

    /** Where the versioned SQL files live on the classpath. */
    public static final String LOCATION = "classpath:db/migration/outboxkit";

    private Migrations() {
    }

    /**
     * Brings the database behind {@code dataSource} to the latest schema version.
     *
     * @return how many migrations this call applied (0 when the schema was already current)
     * @throws org.flywaydb.core.api.FlywayException when the database cannot be migrated
     */
    public static int apply(DataSource dataSource) {
        MigrateResult result = Flyway.configure()
                .dataSource(dataSource)
                .locations(LOCATION)
                .load()
                .migrate();
        return result.migrationsExecuted;
    }
}
