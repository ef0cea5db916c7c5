package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.OutboxNames;
import io.outboxkit.migrations.OutboxMigrations;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationVersion;
import org.flywaydb.core.api.callback.Callback;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.flyway.autoconfigure.FlywayConfigurationCustomizer;
import org.springframework.core.env.Environment;

/**
 * Lets the application's own Flyway start its history in a schema that holds the library's objects
 * and nothing else: it baselines at version 0, so the application's version 1 and later are all
 * applied.
 *
 * <p>Why: an application that ran the starter before it had migrations of its own has the library's
 * tables (made by {@link OutboxSchemaInitializer}) in its schema and no {@code flyway_schema_history};
 * Flyway refuses to start a history in a non-empty schema, and its own way round,
 * {@code baseline-on-migrate} at the default version 1, would skip the application's first migration.
 *
 * <p>Only then: the configuration is left as it is when the application set
 * {@code baseline-on-migrate} itself (in its properties, either value, or in a customizer of its
 * own), when Flyway's history exists, when every schema Flyway checks is empty (Flyway starts its
 * history itself), when one of them holds anything that is not the library's (a table, view,
 * sequence, type or function of the application's: a baseline at 0 skips nothing, so version 1 and
 * later would run again over objects that already exist, failing half way or, worse, passing over
 * them; Flyway then refuses as before), or when the application has a migration at version 0 or
 * below, which a baseline at 0 would skip. A listed schema that is empty beside one holding only the
 * library's objects does not stop the baseline: Flyway would refuse all the same, and the
 * application's migrations are what fill it.
 */
final class BaselineBesideOutbox implements FlywayConfigurationCustomizer {

    private static final Logger LOG = LoggerFactory.getLogger(BaselineBesideOutbox.class);

    /** Below every version but 0: the application's first migration is version 1, or above 0 anyway. */
    static final String BASELINE_VERSION = "0";

    /**
     * What Flyway counts when it decides whether a schema is empty (its PostgreSQL check: relations,
     * types but arrays and row types, functions; none from an extension), and materialized views,
     * partitioned and foreign tables besides: kind and name of each.
     */
    private static final String COUNTED_OBJECTS = """
            SELECT 'relation', c.relname FROM pg_catalog.pg_class c
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_catalog.pg_depend d ON d.objid = c.oid AND d.deptype = 'e'
             WHERE n.nspname = ? AND d.objid IS NULL AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 't')
            UNION ALL
            SELECT 'type', t.typname FROM pg_catalog.pg_type t
              JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
              LEFT JOIN pg_catalog.pg_depend d ON d.objid = t.oid AND d.deptype = 'e'
             WHERE n.nspname = ? AND d.objid IS NULL AND t.typcategory NOT IN ('A', 'C')
            UNION ALL
            SELECT 'function', p.proname FROM pg_catalog.pg_proc p
              JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
              LEFT JOIN pg_catalog.pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
             WHERE n.nspname = ? AND d.objid IS NULL""";

    /** Spring Boot's property; any spelling it binds counts, whatever the value. */
    static final String BASELINE_PROPERTY = "spring.flyway.baseline-on-migrate";

    private final OutboxNames names;
    private final boolean baselineSetByApplication;

    /**
     * @param baselineSetByApplication whether the application set {@value #BASELINE_PROPERTY} itself:
     *     then its choice stands, false included
     */
    BaselineBesideOutbox(OutboxNames names, boolean baselineSetByApplication) {
        this.names = names;
        this.baselineSetByApplication = baselineSetByApplication;
    }

    /**
     * Whether {@code environment} holds {@value #BASELINE_PROPERTY} in a spelling Spring Boot binds
     * (kebab, camel or underscore case, {@code SPRING_FLYWAY_BASELINEONMIGRATE}): the configuration
     * cannot tell an explicit false from Flyway's default.
     */
    static boolean baselineSetBy(Environment environment) {
        return Binder.get(environment).bind(BASELINE_PROPERTY, Bindable.of(String.class)).isBound();
    }

    @Override
    public void customize(FluentConfiguration configuration) {
        // Either the application's properties or a customizer of its own (this one runs last) chose.
        if (baselineSetByApplication || configuration.isBaselineOnMigrate()) {
            return;
        }
        List<String> schemas;
        try (Connection connection = configuration.getDataSource().getConnection()) {
            Optional<List<String>> onlyOutbox = schemasHoldingOnlyTheOutbox(connection, configuration);
            if (onlyOutbox.isEmpty()) {
                return;
            }
            schemas = onlyOutbox.get();
        } catch (SQLException e) {
            throw new IllegalStateException("outboxkit: could not read the catalog to see whether the application's "
                    + "Flyway schema holds only the outbox's tables: " + e.getMessage(), e);
        }
        Optional<MigrationVersion> skipped = lowestVersionAtOrBelowBaseline(configuration);
        if (skipped.isPresent()) {
            LOG.warn("outboxkit: schema(s) {} hold only the outbox's tables, but the application's Flyway has a "
                    + "migration at version {}, which a baseline at {} would skip: no baseline, Flyway decides",
                    schemas, skipped.get(), BASELINE_VERSION);
            return;
        }
        LOG.info("outboxkit: schema(s) {} hold only the outbox's tables and no {}: the application's Flyway "
                + "baselines at version {} and applies its migrations from version 1", schemas,
                configuration.getTable(), BASELINE_VERSION);
        configuration.baselineOnMigrate(true).baselineVersion(BASELINE_VERSION);
    }

    /**
     * The schemas Flyway checks, when its history is missing and they hold the outbox's tables and
     * nothing else of what Flyway counts (some may be empty, not all); empty otherwise.
     */
    private Optional<List<String>> schemasHoldingOnlyTheOutbox(Connection connection, FluentConfiguration configuration)
            throws SQLException {
        String current = currentSchema(connection);
        // As Flyway resolves them: its schemas, else its default schema, else the connection's.
        List<String> schemas = new ArrayList<>(Arrays.asList(configuration.getSchemas()));
        if (schemas.isEmpty()) {
            schemas.add(configuration.getDefaultSchema() != null ? configuration.getDefaultSchema() : current);
        }
        if (schemas.contains(null)) {
            return Optional.empty(); // no schema on the search_path: Flyway says so itself
        }
        String historySchema = configuration.getDefaultSchema() != null ? configuration.getDefaultSchema() : schemas.get(0);
        if (exists(connection, historySchema, configuration.getTable())) {
            return Optional.empty();
        }
        String outboxSchema = names.schema() != null ? names.schema() : current;
        Set<String> outboxRelations = new HashSet<>(names.relations());
        outboxRelations.add(OutboxMigrations.defaultHistoryTable(names));
        String notifyFunction = names.notifyFunction();
        boolean outboxSeen = false;
        for (String schema : schemas) {
            for (CatalogObject object : countedObjects(connection, schema)) {
                boolean outboxs = schema.equals(outboxSchema)
                        && (object.kind().equals("relation") ? outboxRelations.contains(object.name())
                        : object.kind().equals("function") && object.name().equals(notifyFunction));
                if (!outboxs) {
                    return Optional.empty();
                }
                outboxSeen |= object.kind().equals("relation") && object.name().equals(names.outboxTable());
            }
        }
        return outboxSeen ? Optional.of(schemas) : Optional.empty();
    }

    /**
     * The lowest of the application's versions that a baseline at {@value #BASELINE_VERSION} would skip,
     * if any. Read through a copy of the configuration without callbacks: {@code info()} fires
     * {@code beforeInfo}/{@code afterInfo}, and the application's callbacks (its beans and its SQL
     * callback scripts) are for its own Flyway runs, not for this look.
     */
    private static Optional<MigrationVersion> lowestVersionAtOrBelowBaseline(FluentConfiguration configuration) {
        MigrationVersion baseline = MigrationVersion.fromVersion(BASELINE_VERSION);
        FluentConfiguration withoutCallbacks = new FluentConfiguration(configuration.getClassLoader())
                .configuration(configuration)
                .callbacks(new Callback[0])
                .skipDefaultCallbacks(true);
        return Arrays.stream(withoutCallbacks.load().info().all())
                .map(MigrationInfo::getVersion)
                .filter(version -> version != null && version.compareTo(baseline) <= 0)
                .min(MigrationVersion::compareTo);
    }

    private static String currentSchema(Connection connection) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement("SELECT current_schema()");
             ResultSet rows = statement.executeQuery()) {
            rows.next();
            return rows.getString(1);
        }
    }

    private static boolean exists(Connection connection, String schema, String table) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement("""
                SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = ? AND c.relname = ?""")) {
            statement.setString(1, schema);
            statement.setString(2, table);
            try (ResultSet rows = statement.executeQuery()) {
                return rows.next();
            }
        }
    }

    /** One object Flyway counts: its kind ({@code relation}, {@code type} or {@code function}) and name. */
    private record CatalogObject(String kind, String name) {
    }

    private static List<CatalogObject> countedObjects(Connection connection, String schema) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(COUNTED_OBJECTS)) {
            for (int i = 1; i <= 3; i++) {
                statement.setString(i, schema);
            }
            List<CatalogObject> objects = new ArrayList<>();
            try (ResultSet rows = statement.executeQuery()) {
                while (rows.next()) {
                    objects.add(new CatalogObject(rows.getString(1), rows.getString(2)));
                }
            }
            return objects;
        }
    }
}
