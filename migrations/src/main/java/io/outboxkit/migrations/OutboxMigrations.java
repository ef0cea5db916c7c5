package io.outboxkit.migrations;

import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxSchema;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.core.api.migration.JavaMigration;

/**
 * Applies outbox-core's schema ({@link OutboxSchema}, with the application's {@link OutboxNames})
 * with Flyway, recorded in a history table of its own, so that it lives beside the application's
 * own Flyway migrations (and their {@code flyway_schema_history}) without touching them.
 *
 * <pre>{@code
 * OutboxMigrations.apply(dataSource);                                        // the default names
 * OutboxMigrations.builder(dataSource).names(OutboxNames.inSchema("messaging")).build().apply();
 * }</pre>
 *
 * <p>It creates the library's objects and nothing else, in the names' schema (created when
 * missing), and scans no location of the classpath: an application's {@code db/migration} is never
 * picked up. Applying is idempotent and safe when several processes start at once (Flyway takes a
 * PostgreSQL advisory lock: one process migrates, the others find the schema current).
 * Immutable and thread-safe.
 */
public final class OutboxMigrations {

    /** The suffix of the default history table, after the outbox table's name: {@value}. */
    public static final String HISTORY_TABLE_SUFFIX = "_schema_history";

    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

    private final DataSource dataSource;
    private final OutboxNames names;
    private final String historyTable;

    private OutboxMigrations(Builder builder) {
        this.dataSource = builder.dataSource;
        this.names = builder.names;
        this.historyTable = builder.historyTable != null ? builder.historyTable : defaultHistoryTable(builder.names);
    }

    /**
     * Brings the library's tables, with {@link OutboxNames#DEFAULT}, to the latest version.
     *
     * @return how many scripts this call applied (0 when the schema was already current)
     * @throws FlywayException when the database cannot be migrated
     */
    public static int apply(DataSource dataSource) {
        return builder(dataSource).build().apply();
    }

    /** As {@link #apply(DataSource)}, for the tables that {@code names} name. */
    public static int apply(DataSource dataSource, OutboxNames names) {
        return builder(dataSource).names(names).build().apply();
    }

    /** Migrations of the database behind {@code dataSource}; see {@link Builder} for the options. */
    public static Builder builder(DataSource dataSource) {
        return new Builder(dataSource);
    }

    /**
     * The history table used when none is set: the outbox table's name followed by
     * {@value #HISTORY_TABLE_SUFFIX} ({@code outbox_schema_history} for the defaults), in the
     * names' schema, so that two outboxes in one schema keep two histories.
     */
    public static String defaultHistoryTable(OutboxNames names) {
        return names.outboxTable() + HISTORY_TABLE_SUFFIX;
    }

    /** The history table these migrations are recorded in. */
    public String historyTable() {
        return historyTable;
    }

    /**
     * Brings the library's tables to the latest version.
     *
     * @return how many scripts this call applied (0 when the schema was already current)
     * @throws FlywayException when the database cannot be migrated
     */
    public int apply() {
        return SharedSchemaFlyway.migrate(configuration(), String.valueOf(installedWithoutHistory().orElse(0)));
    }

    /**
     * The schema version of an outbox whose tables exist without this history (created from
     * {@link OutboxSchema}'s printed SQL by another tool, or recorded by an earlier release in the
     * application's own Flyway history): 3 with its wake-up table, 2 with the DEAD index, else 1;
     * 0 when there is no outbox table; empty when the history exists. Read from the catalog: a
     * baseline at 0 would run version 1 again over the existing tables and fail.
     */
    private OptionalInt installedWithoutHistory() {
        String schema = names.schema() == null ? "" : "\"" + names.schema() + "\"."; // validated lowercase identifiers
        String history = schema + "\"" + historyTable + "\"";
        String deadIndex = schema + "\"" + names.outboxTable() + "_dead_seq\"";
        try (Connection connection = dataSource.getConnection();
             PreparedStatement look = connection.prepareStatement(
                     "SELECT to_regclass(?) IS NOT NULL, to_regclass(?) IS NOT NULL, to_regclass(?) IS NOT NULL, "
                             + "to_regclass(?) IS NOT NULL")) {
            look.setString(1, history);
            look.setString(2, names.qualifiedOutboxTable());
            look.setString(3, names.qualifiedWakeupTable());
            look.setString(4, deadIndex);
            try (ResultSet row = look.executeQuery()) {
                row.next();
                if (row.getBoolean(1)) {
                    return OptionalInt.empty();
                }
                return OptionalInt.of(!row.getBoolean(2) ? 0 : row.getBoolean(3) ? 3 : row.getBoolean(4) ? 2 : 1);
            }
        } catch (SQLException e) {
            throw new FlywayException("could not read the catalog: " + e.getMessage(), e);
        }
    }

    /**
     * How many of this release's scripts the database has not applied, reading only: all of them
     * where it has no outbox at all; for an outbox without this history, those after the version
     * its objects show. 0 when the outbox is current.
     *
     * @throws FlywayException when the history or the catalog cannot be read
     */
    public int pending() {
        OptionalInt installed = installedWithoutHistory();
        return installed.isPresent() ? OutboxSchema.scripts(names).size() - installed.getAsInt()
                : configuration().load().info().pending().length;
    }

    private FluentConfiguration configuration() {
        List<OutboxSchema.Script> scripts = OutboxSchema.scripts(names);
        FluentConfiguration config = Flyway.configure(OutboxMigrations.class.getClassLoader())
                .dataSource(dataSource)
                .table(historyTable)
                .locations(new String[0]) // the scripts come from outbox-core, not from a scan of the classpath
                .failOnMissingLocations(false)
                .javaMigrations(scripts.stream().map(ScriptMigration::new).toArray(JavaMigration[]::new));
        if (names.schema() != null) {
            config.schemas(names.schema()).defaultSchema(names.schema()).createSchemas(true);
        }
        return config;
    }

    /** Configures {@link OutboxMigrations}; {@link #build()} checks the options and names the one at fault. */
    public static final class Builder {
        private final DataSource dataSource;
        private OutboxNames names = OutboxNames.DEFAULT;
        private String historyTable;

        private Builder(DataSource dataSource) {
            this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
        }

        /** The library's tables and channel; default {@link OutboxNames#DEFAULT}. */
        public Builder names(OutboxNames names) {
            this.names = names;
            return this;
        }

        /**
         * The table, in the names' schema, that records which scripts were applied; a lowercase
         * identifier; default {@link #defaultHistoryTable(OutboxNames)}. Never the application's
         * own Flyway history table.
         */
        public Builder historyTable(String historyTable) {
            this.historyTable = historyTable;
            return this;
        }

        /**
         * Migrations with these options, copied.
         *
         * @throws IllegalArgumentException naming the option at fault
         */
        public OutboxMigrations build() {
            if (names == null) {
                throw new IllegalArgumentException("OutboxMigrations: names must not be null");
            }
            if (historyTable != null && !IDENTIFIER.matcher(historyTable).matches()) {
                throw new IllegalArgumentException("OutboxMigrations: historyTable must be a lowercase SQL identifier "
                        + "of 1 to 63 characters, was \"" + historyTable + "\"");
            }
            if ("flyway_schema_history".equals(historyTable)) {
                throw new IllegalArgumentException("OutboxMigrations: historyTable must not be flyway_schema_history, "
                        + "the application's own Flyway history");
            }
            return new OutboxMigrations(this);
        }
    }
}
