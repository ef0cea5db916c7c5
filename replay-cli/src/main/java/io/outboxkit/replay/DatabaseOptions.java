package io.outboxkit.replay;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Database;
import io.outboxkit.app.DatabaseSettings;
import io.outboxkit.app.Env;
import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxSchema;
import io.outboxkit.core.spi.Causes;
import io.outboxkit.migrations.OutboxMigrations;
import java.util.Optional;
import java.util.regex.Pattern;
import org.flywaydb.core.api.FlywayException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code --db-url} and {@code --db-user} options, which override {@code DB_URL} and
 * {@code DB_USER}, and {@code --schema}, {@code --outbox-table} and {@code --channel}, which name
 * the outbox as its services' {@link OutboxNames} do. There is deliberately no password option:
 * the password comes only from {@code DB_PASSWORD}, so it never shows in the process list.
 */
final class DatabaseOptions {

    /** A value the shell passes as it is, unquoted. */
    private static final Pattern SHELL_PLAIN = Pattern.compile("[A-Za-z0-9_./:=,@%+-]+");
    /** A value the shell passes as it is inside double quotes: none of $ ` \\ " ! nor a control character. */
    private static final Pattern SHELL_QUOTABLE = Pattern.compile("[^$`\\\\\"!\\p{Cntrl}]*");

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--db-url", paramLabel = "URL", description = "JDBC URL of the database (default: $DB_URL, "
            + "else " + DatabaseSettings.DEFAULT_URL + ")")
    String url;

    @Option(names = "--db-user", paramLabel = "USER", description = "database user (default: $DB_USER, else "
            + DatabaseSettings.DEFAULT_USER + "); the password is read from $DB_PASSWORD only")
    String user;

    @Option(names = "--schema", paramLabel = "SCHEMA", description = "the schema of the outbox's tables (default: "
            + "the connection's current schema, the first of its search_path)")
    String schema;

    @Option(names = "--outbox-table", paramLabel = "TABLE", description = "the outbox table (default: "
            + OutboxNames.DEFAULT_OUTBOX_TABLE + ")")
    String outboxTable = OutboxNames.DEFAULT_OUTBOX_TABLE;

    @Option(names = "--channel", paramLabel = "CHANNEL", description = "the channel a requeue wakes the relays on "
            + "(default: " + OutboxNames.DEFAULT_CHANNEL + ")")
    String channel = OutboxNames.DEFAULT_CHANNEL;

    /**
     * The outbox the options name, checked as {@link OutboxNames} checks a service's names.
     *
     * @throws ParameterException naming the option at fault
     */
    OutboxNames names() {
        try {
            return OutboxNames.DEFAULT.withSchema(schema).withOutboxTable(outboxTable).withChannel(channel);
        } catch (InvalidOptionException e) {
            throw new ParameterException(spec.commandLine(), e.reasonNaming(DatabaseOptions::optionOf));
        }
    }

    private static String optionOf(String setting) {
        return switch (setting) {
            case "schema" -> "--schema";
            case "outboxTable" -> "--outbox-table";
            case "channel" -> "--channel";
            case "processedTable" -> "the processed-messages table";
            default -> null;
        };
    }

    /**
     * The options given, as command-line arguments (each with a leading space) that name the same
     * database and outbox; empty when they cannot be repeated: a {@code --db-url} carrying a
     * password, which must not be printed, or a value the shell would change even in double quotes.
     */
    Optional<String> arguments(Env env) {
        if (url != null && !settings(env).redactedUrl().equals(url)) {
            return Optional.empty();
        }
        StringBuilder arguments = new StringBuilder();
        String[][] options = {{"--db-url", url}, {"--db-user", user}, {"--schema", schema},
                {"--outbox-table", OutboxNames.DEFAULT_OUTBOX_TABLE.equals(outboxTable) ? null : outboxTable},
                {"--channel", OutboxNames.DEFAULT_CHANNEL.equals(channel) ? null : channel}};
        for (String[] option : options) {
            if (option[1] == null) {
                continue;
            }
            boolean plain = SHELL_PLAIN.matcher(option[1]).matches();
            if (!plain && !SHELL_QUOTABLE.matcher(option[1]).matches()) {
                return Optional.empty();
            }
            arguments.append(' ').append(option[0]).append(' ').append(plain ? option[1] : '"' + option[1] + '"');
        }
        return Optional.of(arguments.toString());
    }

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
        OutboxNames names = names();
        DatabaseSettings settings = settings(env);
        Database database = Database.connect(settings, "replay-cli", 2);
        try {
            int pending = OutboxMigrations.builder(database.dataSource()).names(names).build().pending();
            if (pending == OutboxSchema.scripts(names).size()) {
                // Not "start a service": one started with the default names would create a second, empty outbox.
                throw new ConfigException("the database at " + settings.redactedUrl() + " holds no outbox table "
                        + names.outboxTable() + " in schema " + schemaOf(database, names) + " (is it the services' "
                        + "database?); pass --schema/--outbox-table if yours is named otherwise: replay-cli creates nothing");
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

    /** The schema the outbox's names resolve in: the one named, else the connection's current schema. */
    private static String schemaOf(Database database, OutboxNames names) {
        return names.schema() != null ? names.schema() : database.jdbi().withHandle(h ->
                h.createQuery("SELECT coalesce(current_schema(), '(none: search_path names no schema that exists)')")
                        .mapTo(String.class).one());
    }
}
