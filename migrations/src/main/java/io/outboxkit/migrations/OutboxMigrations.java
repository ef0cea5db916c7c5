package io.outboxkit.migrations;

import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxSchema;
import io.outboxkit.core.spi.Causes;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.core.api.migration.JavaMigration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * Names without a schema and names in the connection's current schema are the same tables: either
 * finds the outbox the other migrated current. Immutable and thread-safe.
 *
 * <p>On a live outbox, a script may need a lock that the writers' open transactions hold: version 2
 * builds an index, which waits for every open transaction that wrote to the outbox, and every
 * writer that comes after waits behind it. So a script waits for a lock at most
 * {@value #LOCK_WAIT_SECONDS} s, then lets go (its transaction rolls back, so that writers go on)
 * and the migration starts again after a pause, up to {@value #LOCK_ATTEMPTS} times; a writer is
 * held at most about {@value #LOCK_WAIT_SECONDS} s per attempt. Once the index has its lock, its
 * build still holds the writers for as long as it runs: see the README's "Upgrading a live outbox".
 */
public final class OutboxMigrations {

    private static final Logger LOG = LoggerFactory.getLogger(OutboxMigrations.class);

    /** The suffix of the default history table, after the outbox table's name: {@value}. */
    public static final String HISTORY_TABLE_SUFFIX = "_schema_history";

    /** How long a script waits for a lock before its attempt gives up, in seconds: {@value}. */
    public static final int LOCK_WAIT_SECONDS = 2;
    /** How many attempts a migration makes when a script cannot get its lock: {@value}. */
    public static final int LOCK_ATTEMPTS = 8;

    static final Duration LOCK_WAIT = Duration.ofSeconds(LOCK_WAIT_SECONDS);
    /** Between two attempts, long beside {@link #LOCK_WAIT}: writers then go on unhindered. */
    static final Duration LOCK_PAUSE = Duration.ofSeconds(5);

    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]*");
    /** PostgreSQL's longest identifier, in bytes. */
    private static final int MAX_IDENTIFIER_LENGTH = 63;
    /** The longest suffix Flyway adds to the history table's name: its index. */
    private static final String HISTORY_INDEX_SUFFIX = "_s_idx";
    /** PostgreSQL's SQLSTATE for a privilege the role lacks. */
    private static final String INSUFFICIENT_PRIVILEGE = "42501";

    private final DataSource dataSource;
    private final OutboxNames names;
    private final String historyTable;
    private final Duration lockWait;
    private final int lockAttempts;
    private final Duration lockPause;

    private OutboxMigrations(Builder builder) {
        this.dataSource = builder.dataSource;
        this.names = builder.names;
        this.historyTable = builder.historyTable != null ? builder.historyTable : defaultHistoryTable(builder.names);
        this.lockWait = builder.lockWait;
        this.lockAttempts = builder.lockAttempts;
        this.lockPause = builder.lockPause;
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
     * Brings the library's tables to the latest version. A script that cannot get a lock within
     * {@value #LOCK_WAIT_SECONDS} s is rolled back and the migration tried again (logged at WARN,
     * with the sessions that hold a lock on the outbox), {@value #LOCK_ATTEMPTS} times in all. An
     * outbox already at the latest version without this history (installed from
     * {@link OutboxSchema}'s printed SQL) is left as it is: nothing is created, so a role without
     * CREATE on its schema may run this.
     *
     * <p>A trigger function that names a wake-up table that no longer exists (version 5 wrote its
     * schema into it, and the schema was renamed since) is written again naming the wake-up table as
     * these names reach it (logged at WARN); until then every write to the outbox fails.
     *
     * <p>Names the database contradicts are refused before anything is written, naming the setting
     * to change: a processed-messages table that exists while the outbox does not (a second outbox
     * of the schema left on the default one, which the first created); a channel other than the one
     * the installed trigger notifies on (written into it when the outbox was created), with this
     * history or at the latest version without it, as this process's pollers would be woken by no
     * commit; for names without a schema, an outbox table the search_path reaches in another schema
     * while the current one has none, as an outbox created in the current schema would hide it from
     * every unqualified read and write. An outbox without this history at an earlier version is
     * upgraded onto this process's channel instead: the scripts still to apply write the trigger
     * again with it.
     *
     * @return how many scripts this call applied (0 when the schema was already current)
     * @throws FlywayException when the database cannot be migrated, or when the names contradict
     *                         what it holds: the message names the setting; or when a script did not get
     *                         its lock at any attempt: the message names the script and the sessions
     *                         that held the outbox; or when a trigger function naming a wake-up table
     *                         that no longer exists cannot be written again: the message names the
     *                         command that does it
     */
    public int apply() {
        int applied = migrate();
        rewriteTriggerOfARenamedSchema();
        return applied;
    }

    private int migrate() {
        contradiction().ifPresent(reason -> {
            throw new FlywayException(reason);
        });
        if (installedWithoutHistory().orElse(-1) == OutboxSchema.scripts(names).size()) {
            // Current, installed by another tool: recording that would create the history table, which
            // a service's role (with only the grants it uses) may not be allowed to.
            LOG.debug("the outbox {} is at the latest schema version without a history of ours; nothing to apply",
                    names.qualifiedOutboxTable());
            return 0;
        }
        for (int attempt = 1; ; attempt++) {
            try {
                return SharedSchemaFlyway.migrate(configuration(), String.valueOf(installedWithoutHistory().orElse(0)));
            } catch (FlywayException e) {
                // Another process, of other names, created what these names contradict meanwhile: say so, not Flyway.
                Optional<String> contradiction;
                try {
                    contradiction = contradiction();
                } catch (FlywayException readFailure) {
                    // A catalog that cannot be read now (connections exhausted, the database going down) must not
                    // hide e and its advice (the lock's holders, the grant to give): kept beside it instead.
                    e.addSuppressed(readFailure);
                    contradiction = Optional.empty();
                }
                contradiction.ifPresent(reason -> {
                    throw new FlywayException(reason, e);
                });
                if (Causes.find(e, SQLException.class).map(SQLException::getSQLState).filter(INSUFFICIENT_PRIVILEGE::equals)
                        .isPresent()) {
                    throw new FlywayException(privilegeMissing(Causes.rootMessage(e)), e);
                }
                ScriptMigration script = Causes.find(e, ScriptMigration.LockNotGranted.class).orElseThrow(() -> e).script();
                String holders = lockHolders();
                if (attempt >= lockAttempts) {
                    throw new FlywayException("could not apply outboxkit schema " + script.name() + " to "
                            + names.qualifiedOutboxTable() + ": at each of " + lockAttempts + " attempts another "
                            + "transaction held a lock on it longer than " + lockWait.toMillis() + " ms (" + holders
                            + "). Most often a business transaction that wrote to the outbox and is still open, or a "
                            + "session left idle in transaction: end it and start again, or upgrade at a quiet time "
                            + "(README, \"Upgrading a live outbox\")", e);
                }
                LOG.warn("outboxkit schema {} waited {} ms for a lock on {} ({}) and let go, so as not to hold the "
                                + "outbox's writers behind it; trying again in {} s (attempt {} of {})", script.name(),
                        lockWait.toMillis(), names.qualifiedOutboxTable(), holders, lockPause.toSeconds(), attempt + 1,
                        lockAttempts);
                SharedSchemaFlyway.sleep(lockPause.toMillis());
            }
        }
    }

    /** Why these names cannot be migrated over what the database holds ({@link InstalledNames}); one catalog read. */
    private Optional<String> contradiction() {
        try (Connection connection = dataSource.getConnection()) {
            return InstalledNames.contradiction(connection, names, historyTable);
        } catch (SQLException e) {
            throw new FlywayException("could not read the catalog: " + e.getMessage(), e);
        }
    }

    /**
     * Version 5 wrote the wake-up table's schema into the trigger function, so that no writer's
     * search_path can hide it; after {@code ALTER SCHEMA ... RENAME} the function names a table that
     * no longer exists and every write fails with "relation ... does not exist", while the history
     * says current. Writing version 5's function again, with these names, makes it name the renamed
     * table (only when it is broken: a current function is left alone). Its channel is this
     * process's, which {@link #migrate()} found to be the one the function notifies on (or refused).
     *
     * <p>This runs outside Flyway's lock, and replicas starting together after the rename would each
     * write the function at once ("tuple concurrently updated"): the check and the rewrite are one
     * transaction under an advisory lock of the function's own, the check repeated once it is held.
     */
    private void rewriteTriggerOfARenamedSchema() {
        String broken;
        try (Connection connection = dataSource.getConnection()) {
            broken = brokenTrigger(connection);
        } catch (SQLException e) {
            throw new FlywayException("could not read the catalog: " + e.getMessage(), e);
        }
        if (broken == null) {
            return;
        }
        try (Connection connection = dataSource.getConnection()) {
            boolean autoCommit = connection.getAutoCommit();
            connection.setAutoCommit(false);
            try {
                rewriteUnderLock(connection);
                connection.commit();
            } catch (SQLException e) {
                connection.rollback();
                throw e;
            } finally {
                connection.setAutoCommit(autoCommit);
            }
        } catch (SQLException e) {
            if (stillBroken()) {
                throw new FlywayException("the trigger function of the outbox " + names.qualifiedOutboxTable()
                        + " names the wake-up table " + broken + ", which does not exist (its schema renamed "
                        + "since schema version 5 was applied?), so every write to the outbox fails, and it could not be "
                        + "written again (" + e.getMessage() + "). As the owner of the outbox's tables, run: "
                        + version5Command(names) + " (README, \"Upgrading a live outbox\")", e);
            }
            LOG.debug("the trigger function of the outbox {} was written again by another process meanwhile ({})",
                    names.qualifiedOutboxTable(), e.getMessage());
        }
    }

    /** Takes the rewrite's lock, checks again, and writes version 5's function when still broken. */
    private void rewriteUnderLock(Connection connection) throws SQLException {
        try (PreparedStatement lock = connection.prepareStatement(InstalledNames.inOwnSchema(
                "SELECT pg_advisory_xact_lock(hashtextextended('outboxkit trigger rewrite ' || {function}, 0))"))) {
            lock.setString(1, names.schema());
            lock.setString(2, names.notifyFunction());
            lock.execute();
        }
        String broken = brokenTrigger(connection);
        if (broken == null) {
            return; // written again by another process while this one waited for the lock
        }
        LOG.warn("the trigger function of the outbox {} names the wake-up table {}, which does not exist (its schema "
                + "renamed since schema version 5 was applied?), so every write to the outbox fails: writing it again "
                + "naming {}", names.qualifiedOutboxTable(), broken, names.qualifiedWakeupTable());
        OutboxSchema.Script version5 = OutboxSchema.scripts(names).stream().filter(script -> script.version() == 5)
                .findFirst().orElseThrow();
        try (Statement statement = connection.createStatement()) {
            statement.execute(version5.sql());
        }
    }

    /** Whether the trigger function still names a wake-up table that does not exist (true when that cannot be read). */
    private boolean stillBroken() {
        try (Connection connection = dataSource.getConnection()) {
            return brokenTrigger(connection) != null;
        } catch (SQLException e) {
            return true;
        }
    }

    /**
     * The wake-up table the trigger function names when that table does not exist; null when the
     * function is absent or current. The function is looked up in the outbox's own schema
     * ({@link InstalledNames#inOwnSchema}): another application's, of a later schema of the
     * search_path, is not this process's to rewrite.
     */
    private String brokenTrigger(Connection connection) throws SQLException {
        try (PreparedStatement look = connection.prepareStatement(InstalledNames.inOwnSchema("""
                SELECT f.named
                FROM (SELECT substring(prosrc FROM 'FROM (.+) WHERE waiting_until') AS named
                      FROM pg_proc WHERE oid = {function}) f
                WHERE f.named IS NOT NULL AND to_regclass(f.named) IS NULL"""))) {
            look.setString(1, names.schema());
            look.setString(2, names.notifyFunction());
            try (ResultSet row = look.executeQuery()) {
                return row.next() ? row.getString(1) : null;
            }
        }
    }

    /** The command that prints version 5's script for {@code names}, piped to psql. */
    static String version5Command(OutboxNames names) {
        StringBuilder command = new StringBuilder("java -cp outbox-core.jar io.outboxkit.core.OutboxSchema");
        if (names.schema() != null) {
            command.append(" --schema ").append(names.schema());
        }
        if (!names.outboxTable().equals(OutboxNames.DEFAULT_OUTBOX_TABLE)) {
            command.append(" --outbox-table ").append(names.outboxTable());
        }
        if (!names.channel().equals(OutboxNames.DEFAULT_CHANNEL)) {
            command.append(" --channel ").append(names.channel());
        }
        command.append(" --version 5 | psql <database>");
        if (names.schema() == null) {
            command.append(", with PGOPTIONS='-c search_path=<the outbox's schema>'");
        }
        return command.toString();
    }

    /**
     * What to do when PostgreSQL refused the migrating role a privilege: which role, which schema,
     * and the grant it lacks when that is CREATE on the schema (from PostgreSQL 15 no role may create
     * in {@code public} unless granted, so that the default names need it too).
     */
    private String privilegeMissing(String refusal) {
        String advice;
        try (Connection connection = dataSource.getConnection();
             PreparedStatement look = connection.prepareStatement("""
                     SELECT current_user, s.name, has_schema_privilege(s.name, 'CREATE')
                     FROM (SELECT coalesce(?, current_schema()) AS name) s
                     WHERE EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = s.name)""")) {
            look.setString(1, names.schema());
            try (ResultSet rs = look.executeQuery()) {
                advice = !rs.next() ? "the role needs CREATE on the database, for the schema the scripts create"
                        : rs.getBoolean(3) ? "the role must own the outbox's tables, or be granted what the message names"
                        : "role " + rs.getString(1) + " may not create in schema " + rs.getString(2) + ": GRANT CREATE ON "
                        + "SCHEMA \"" + rs.getString(2) + "\" TO \"" + rs.getString(1) + "\" (or migrate as the schema's "
                        + "owner; PostgreSQL 15 and later grant no role CREATE on public by default)";
            }
        } catch (SQLException e) {
            advice = "the role needs CREATE on the outbox's schema and to own its tables";
        }
        return "could not migrate the outbox " + names.qualifiedOutboxTable() + " (history " + historyTable
                + "): PostgreSQL refused a privilege (" + refusal + "); " + advice + ". README, \"Roles and grants\"";
    }

    /**
     * The sessions that hold a lock on the outbox now, oldest transaction first, for an operator to
     * find: pid, application, state and how long its transaction has been open.
     */
    private String lockHolders() {
        try (Connection connection = dataSource.getConnection();
             PreparedStatement look = connection.prepareStatement("""
                     SELECT a.pid, a.usename, a.application_name, a.state,
                            floor(extract(epoch FROM now() - a.xact_start))::bigint
                     FROM pg_stat_activity a
                     WHERE a.pid <> pg_backend_pid() AND a.pid IN (
                         SELECT l.pid FROM pg_locks l WHERE l.relation = to_regclass(?) AND l.granted)
                     ORDER BY a.xact_start LIMIT 3""")) {
            look.setString(1, names.qualifiedOutboxTable());
            List<String> holders = new ArrayList<>();
            try (ResultSet row = look.executeQuery()) {
                while (row.next()) {
                    int pid = row.getInt(1);
                    String role = row.getString(2);
                    String application = row.getString(3);
                    String state = row.getString(4);
                    long open = row.getLong(5);
                    boolean openKnown = !row.wasNull();
                    holders.add("pid " + pid + ", role '" + role + "'"
                            + (application == null || application.isEmpty() ? "" : ", application '" + application + "'")
                            // pg_stat_activity hides another role's session from a role without pg_read_all_stats
                            + (state == null ? ", its state not visible to this role (grant it pg_read_all_stats)"
                                    : ", " + state + (openKnown ? ", transaction open " + open + " s" : "")));
                }
            }
            return holders.isEmpty() ? "no session holds one any longer" : "held by " + String.join("; ", holders);
        } catch (SQLException e) {
            return "could not read which sessions hold it: " + e.getMessage();
        }
    }

    /**
     * The schema version of an outbox whose tables exist without this history (created from
     * {@link OutboxSchema}'s printed SQL by another tool, or recorded by an earlier release in the
     * application's own Flyway history): 5 when its trigger function names the wake-up table as
     * version 5 qualified it, 4 when it keys the wake-up lock by the table ({@code TG_RELID}), 3
     * with its wake-up table, 2 with the DEAD index, else 1; 0 when
     * there is no outbox table; empty when the history exists. Read from the catalog: a baseline at
     * 0 would run version 1 again over the existing tables and fail. Only the outbox's own schema is
     * read ({@link InstalledNames#inOwnSchema}): another application's outbox in a later schema of the
     * search_path would otherwise pass for this one, installed at its version.
     */
    private OptionalInt installedWithoutHistory() {
        String notifyFunction = names.notifyFunction();
        try (Connection connection = dataSource.getConnection();
             PreparedStatement look = connection.prepareStatement(InstalledNames.inOwnSchema(
                     "SELECT {relation} IS NOT NULL, {relation} IS NOT NULL, {relation} IS NOT NULL, "
                             + "{relation} IS NOT NULL, "
                             + "coalesce((SELECT prosrc LIKE '%TG_RELID%' FROM pg_proc WHERE oid = {function}), false), "
                             + "coalesce((SELECT prosrc LIKE '%schema version 5%' FROM pg_proc WHERE oid = {function}), false)"))) {
            look.setString(1, names.schema());
            look.setString(2, historyTable);
            look.setString(3, names.outboxTable());
            look.setString(4, names.outboxTable() + "_wakeup");
            look.setString(5, names.outboxTable() + "_dead_seq");
            look.setString(6, notifyFunction);
            look.setString(7, notifyFunction);
            try (ResultSet row = look.executeQuery()) {
                row.next();
                if (row.getBoolean(1)) {
                    return OptionalInt.empty();
                }
                return OptionalInt.of(!row.getBoolean(2) ? 0 : row.getBoolean(6) ? 5 : row.getBoolean(5) ? 4 : row.getBoolean(3) ? 3
                        : row.getBoolean(4) ? 2 : 1);
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
        Map<Integer, Integer> recorded = checksumsOfTheOtherSpelling(scripts);
        FluentConfiguration config = Flyway.configure(OutboxMigrations.class.getClassLoader())
                .dataSource(dataSource)
                .table(historyTable)
                .locations(new String[0]) // the scripts come from outbox-core, not from a scan of the classpath
                .failOnMissingLocations(false)
                .javaMigrations(scripts.stream().map(s -> new ScriptMigration(s, lockWait,
                        recorded.getOrDefault(s.version(), ScriptMigration.checksum(s)))).toArray(JavaMigration[]::new));
        if (names.schema() != null) {
            config.schemas(names.schema()).defaultSchema(names.schema()).createSchemas(true);
        }
        return config;
    }

    /**
     * The checksums, by version, that the history recorded for scripts applied with the other
     * spelling of the same tables. Names without a schema, from a connection whose current schema is
     * S, and names in S are the same tables, but scripts filled in with them differ (qualified names,
     * and version 1 creates S), and so do their checksums. Both spellings migrate the same outbox in
     * the field (an application names its schema, a service reaches it through its connection's
     * {@code currentSchema}), either of them first: each takes the other's record as its own. Only
     * an exact match of the other spelling's checksum is taken, so a script changed since it was
     * applied is still refused. Nothing is written: a process of an earlier release reads the
     * history as it recorded it.
     */
    private Map<Integer, Integer> checksumsOfTheOtherSpelling(List<OutboxSchema.Script> scripts) {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            OutboxNames other;
            if (names.schema() != null) {
                other = names.withSchema(null); // recorded by a process whose current schema was this one: the history is here
            } else {
                String current;
                try (ResultSet row = statement.executeQuery("SELECT current_schema()")) {
                    row.next();
                    current = row.getString(1);
                }
                if (current == null) {
                    return Map.of();
                }
                try {
                    other = names.withSchema(current);
                } catch (InvalidOptionException e) {
                    return Map.of(); // a schema no OutboxNames can name: there is no other spelling
                }
            }
            // Validated lowercase identifiers, so quoting is enclosing them.
            String history = "\"" + (names.schema() != null ? names.schema() : other.schema()) + "\".\"" + historyTable + "\"";
            Map<String, Integer> applied = new HashMap<>();
            try (ResultSet row = statement.executeQuery("SELECT to_regclass('" + history + "') IS NOT NULL")) {
                row.next();
                if (!row.getBoolean(1)) {
                    return Map.of();
                }
            }
            try (ResultSet row = statement.executeQuery(
                    "SELECT version, checksum FROM " + history + " WHERE success AND checksum IS NOT NULL")) {
                while (row.next()) {
                    applied.put(row.getString(1), row.getInt(2));
                }
            }
            List<OutboxSchema.Script> spelledOtherwise = OutboxSchema.scripts(other);
            Map<Integer, Integer> taken = new HashMap<>();
            for (int i = 0; i < scripts.size(); i++) {
                int ours = ScriptMigration.checksum(scripts.get(i));
                int theirs = ScriptMigration.checksum(spelledOtherwise.get(i));
                Integer recorded = applied.get(Integer.toString(scripts.get(i).version()));
                if (recorded != null && recorded == theirs && recorded != ours) {
                    taken.put(scripts.get(i).version(), recorded);
                }
            }
            if (!taken.isEmpty()) {
                LOG.debug("outboxkit schema versions {} of {} were applied as {}: the same tables", taken.keySet(),
                        names.qualifiedOutboxTable(), other.qualifiedOutboxTable());
            }
            return taken;
        } catch (SQLException e) {
            throw new FlywayException("could not read the outboxkit schema history " + historyTable + ": " + e.getMessage(), e);
        }
    }

    /** Configures {@link OutboxMigrations}; {@link #build()} checks the options and names the one at fault. */
    public static final class Builder {
        private final DataSource dataSource;
        private OutboxNames names = OutboxNames.DEFAULT;
        private String historyTable;
        private Duration lockWait = LOCK_WAIT;
        private int lockAttempts = LOCK_ATTEMPTS;
        private Duration lockPause = LOCK_PAUSE;

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
         * identifier of 1 to 57 characters (Flyway adds {@code _s_idx} for its index, within
         * PostgreSQL's 63); default {@link #defaultHistoryTable(OutboxNames)}. Never the application's
         * own Flyway history table, nor a name the outbox's schema takes, or whose {@code _pk} or
         * {@code _s_idx} it takes ({@link OutboxNames#relations()}): {@link #build()} refuses those.
         */
        public Builder historyTable(String historyTable) {
            this.historyTable = historyTable;
            return this;
        }

        /** For tests: how long a script waits for a lock, how many attempts, and the pause between them. */
        Builder lockRetry(Duration wait, int attempts, Duration pause) {
            this.lockWait = wait;
            this.lockAttempts = attempts;
            this.lockPause = pause;
            return this;
        }

        /**
         * Migrations with these options, copied.
         *
         * @throws InvalidOptionException naming the option at fault
         */
        public OutboxMigrations build() {
            if (names == null) {
                throw new InvalidOptionException("OutboxMigrations", List.of("names"), "names must not be null");
            }
            if (historyTable != null) {
                requireFreeHistoryTable();
            }
            return new OutboxMigrations(this);
        }

        private void requireFreeHistoryTable() {
            // Flyway names the history's key and index <table>_pk and <table>_s_idx: PostgreSQL would cut a longer
            // name to 63 bytes, the table's own, and the history's creation would fail.
            int longest = MAX_IDENTIFIER_LENGTH - HISTORY_INDEX_SUFFIX.length();
            if (historyTable.length() > longest || !IDENTIFIER.matcher(historyTable).matches()) {
                throw new InvalidOptionException("OutboxMigrations", List.of("historyTable"), "historyTable must be a "
                        + "lowercase SQL identifier of 1 to " + longest + " characters (a letter or _, then letters, "
                        + "digits or _), was \"" + historyTable + "\"");
            }
            if ("flyway_schema_history".equals(historyTable)) {
                throw new InvalidOptionException("OutboxMigrations", List.of("historyTable"), "historyTable must not be "
                        + "flyway_schema_history, the application's own Flyway history");
            }
            if (historyTable.equals(defaultHistoryTable(names))) {
                return;
            }
            // Else the outbox's first script fails on a name the history took, leaving a history behind that a later
            // apply with the default one cannot get past.
            for (String created : List.of(historyTable, historyTable + "_pk", historyTable + HISTORY_INDEX_SUFFIX)) {
                if (names.relations().contains(created)) {
                    throw new InvalidOptionException("OutboxMigrations", List.of("historyTable"), "historyTable "
                            + historyTable + " would take the name " + created + ", which the outbox's schema takes for "
                            + "its own tables and indexes (" + names.outboxTable() + ", " + names.processedTable()
                            + ", ...): choose another name");
                }
            }
        }
    }
}
