package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.OutboxNames;
import io.outboxkit.migrations.OutboxMigrations;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;

/**
 * Applies the library's schema ({@link OutboxMigrations}: Flyway, in a history table of its own)
 * once every singleton of the context exists, and so after the application's own Flyway, which
 * Spring Boot runs while its beans are created; and before the context starts the poller.
 *
 * <p>After, not before: in a schema that already holds tables, the application's Flyway refuses to
 * start its history ("non-empty schema ... but no schema history table"), and the usual way round
 * that, {@code baseline-on-migrate}, would skip the application's first migration. The library's
 * migrations start their history in a schema with other tables without skipping anything, so they
 * go second, and both apply on an empty database as on one that has the application's tables. On
 * one that has only the library's (the application had no migrations of its own at its first
 * start), {@link BaselineBesideOutbox} lets the application's Flyway start its history at version 0.
 */
final class OutboxSchemaInitializer implements SmartInitializingSingleton {

    private static final Logger LOG = LoggerFactory.getLogger(OutboxSchemaInitializer.class);

    private final DataSource dataSource;
    private final OutboxNames names;

    OutboxSchemaInitializer(DataSource dataSource, OutboxNames names) {
        this.dataSource = dataSource;
        this.names = names;
    }

    @Override
    public void afterSingletonsInstantiated() {
        OutboxMigrations migrations = OutboxMigrations.builder(dataSource).names(names).build();
        int applied = migrations.apply();
        LOG.info("outboxkit schema on {} is current ({} script(s) applied now; history in {})",
                names.qualifiedOutboxTable(), applied, migrations.historyTable());
    }
}
