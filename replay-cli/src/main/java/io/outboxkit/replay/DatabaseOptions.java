package io.outboxkit.replay;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Database;
import io.outboxkit.app.DatabaseSettings;
import io.outboxkit.app.Env;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxSchema;
import io.outboxkit.core.spi.Causes;
import io.outboxkit.migrations.OutboxMigrations;
import org.flywaydb.core.api.FlywayException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code --db-url} and {@code --db-user} options, which override {@code DB_URL} and
 * {@code DB_USER}. There is deliberately no password option: the password comes only from
 * {@code DB_PASSWORD}, so it never shows in the process list.
 */
final class DatabaseOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--db-url", paramLabel = "URL", description = "JDBC URL of the database (default: $DB_URL, "
            + "else " + DatabaseSettings.DEFAULT_URL + ")")
    String url;

    @Option(names = "--db-user", paramLabel = "USER", description = "database user (default: $DB_USER, else "
            + DatabaseSettings.DEFAULT_USER + "); the password is read from $DB_PASSWORD only")
    String user;

    /** The settings from {@code env}, overridden by the options given. */
    DatabaseSettings settings(Env env) {
        try {
            return new DatabaseSettings(
                    url != null ? url : env.string("DB_URL", DatabaseSettings.DEFAULT_URL),
                    user != null ? user : env.string("DB_USER", DatabaseSettings.DEFAULT_USER),
                    env.string("DB_PASSWORD", DatabaseSettings.DEFAULT_PASSWORD));
        } catch (ConfigException e) {
            if (url == null && user == null) {
                throw e;
            }
            throw new ParameterException(spec.commandLine(), "bad --db-url or --db-user: " + e.getMessage());
        }
    }

    /**
     * Opens the database (one or two pooled connections), changing nothing in it: a tool that lists
     * must not create or upgrade an outbox, as migrating at each start would (in the wrong database,
     * too, when DB_URL names one).
     *
     * @throws ConfigException when it cannot be reached, or holds no outbox of this release's schema;
     *                         the message names it, without the password
     */
    Database open(Env env) {
        DatabaseSettings settings = settings(env);
        Database database = Database.connect(settings, "replay-cli", 2);
        try {
            OutboxNames names = OutboxNames.DEFAULT;
            int pending = OutboxMigrations.builder(database.dataSource()).names(names).build().pending();
            if (pending == OutboxSchema.scripts(names).size()) {
                throw new ConfigException("the database at " + settings.redactedUrl() + " holds no table "
                        + names.qualifiedOutboxTable() + " (is it the services' database?): replay-cli creates nothing; "
                        + "start a service of this release, which creates the outbox");
            }
            if (pending > 0) {
                throw new ConfigException("the outbox at " + settings.redactedUrl() + " is " + pending + " schema "
                        + "version(s) behind this replay-cli: start a service of this release, which migrates it");
            }
        } catch (FlywayException e) {
            database.close();
            throw new ConfigException("cannot read the outbox's schema history at " + settings.redactedUrl() + ": "
                    + Causes.rootMessage(e));
        } catch (RuntimeException e) {
            database.close();
            throw e;
        }
        return database;
    }
}
