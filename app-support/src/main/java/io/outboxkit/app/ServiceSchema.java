package io.outboxkit.app;

import io.outboxkit.core.OutboxNames;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.migrations.SharedSchemaFlyway;
import java.util.Objects;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;

/**
 * The tables a service migrates at start: outbox-core's, with the service's {@link OutboxNames}
 * (recorded in the library's own history table), then the service's own, if it has any, from its
 * own Flyway location into a history table named after it. Each service migrates only what it owns.
 *
 * @param names    the outbox's tables and channel
 * @param owner    the service's name, a lowercase identifier: its history table is
 *                 {@code <owner>_schema_history}; null when it has no tables of its own
 * @param location where its own versioned SQL files are (e.g. {@code classpath:db/order-service}); null
 *                 when it has none
 */
public record ServiceSchema(OutboxNames names, String owner, String location) {

    private static final Pattern OWNER = Pattern.compile("[a-z_][a-z0-9_]{0,40}");

    /** Checks that the owner and the location come together, and the owner's form. */
    public ServiceSchema {
        Objects.requireNonNull(names, "names");
        if ((owner == null) != (location == null)) {
            throw new IllegalArgumentException("a service's own tables need both an owner and a location");
        }
        if (owner != null && !OWNER.matcher(owner).matches()) {
            throw new IllegalArgumentException("owner must be a lowercase identifier, was " + owner);
        }
    }

    /** outbox-core's tables only (a relay, a tool). */
    public static ServiceSchema outboxOnly(OutboxNames names) {
        return new ServiceSchema(names, null, null);
    }

    /** outbox-core's tables, then the service's own from {@code location}. */
    public static ServiceSchema withOwnTables(OutboxNames names, String owner, String location) {
        return new ServiceSchema(names, Objects.requireNonNull(owner, "owner"), Objects.requireNonNull(location, "location"));
    }

    /**
     * Brings both parts to their latest version; safe when several processes start at once.
     *
     * @throws org.flywaydb.core.api.FlywayException when the database cannot be migrated
     */
    public void apply(DataSource dataSource) {
        OutboxMigrations.apply(dataSource, names);
        if (location != null) {
            SharedSchemaFlyway.migrate(Flyway.configure(ServiceSchema.class.getClassLoader())
                    .dataSource(dataSource)
                    .table(owner + "_schema_history")
                    .locations(location));
        }
    }
}
