package io.outboxkit.replay;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Database;
import io.outboxkit.app.DatabaseSettings;
import io.outboxkit.app.Env;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.core.OutboxNames;
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
     * Opens the database (one or two pooled connections, schema migrated).
     *
     * @throws ConfigException when it cannot be reached; the message names it, without the password
     */
    Database open(Env env) {
        return Database.open(settings(env), "replay-cli", 2, ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
    }
}
