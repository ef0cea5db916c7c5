package io.outboxkit.migrations;

import io.outboxkit.core.OutboxSchema;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.zip.CRC32;
import org.flywaydb.core.api.MigrationVersion;
import org.flywaydb.core.api.migration.Context;
import org.flywaydb.core.api.migration.JavaMigration;

/**
 * One of {@link OutboxSchema}'s scripts as a Flyway migration, run in Flyway's transaction. Its
 * checksum is that of the SQL with the names filled in, so Flyway's validation reports a script
 * changed since it was applied, or the same history table used for other names; or, when the
 * history recorded the same script for the same tables spelt otherwise (see
 * {@link OutboxMigrations}), the checksum it recorded.
 *
 * <p>It waits for a lock at most its lock wait: a script's statement that waits for a lock on a
 * live table (version 2's index waits for every open transaction that wrote to the outbox) holds
 * every later writer of that table behind it for as long as it waits.
 */
final class ScriptMigration implements JavaMigration {

    /** PostgreSQL's SQLSTATE for a lock not obtained within lock_timeout. */
    private static final String LOCK_NOT_AVAILABLE = "55P03";

    private final OutboxSchema.Script script;
    private final Duration lockWait;
    private final int checksum;

    /** The script, waiting for a lock at most {@link OutboxMigrations#LOCK_WAIT}. */
    ScriptMigration(OutboxSchema.Script script) {
        this(script, OutboxMigrations.LOCK_WAIT);
    }

    ScriptMigration(OutboxSchema.Script script, Duration lockWait) {
        this(script, lockWait, checksum(script));
    }

    /** The script, reporting {@code checksum} to Flyway: one the history recorded for the same script spelt otherwise. */
    ScriptMigration(OutboxSchema.Script script, Duration lockWait, int checksum) {
        this.script = script;
        this.lockWait = lockWait;
        this.checksum = checksum;
    }

    /** The checksum of the script's SQL, with its names filled in as they are spelt. */
    static int checksum(OutboxSchema.Script script) {
        CRC32 crc = new CRC32();
        crc.update(script.sql().getBytes(StandardCharsets.UTF_8));
        return (int) crc.getValue();
    }

    /** The script's version, then its description: "version 2 (dead_index)". */
    String name() {
        return "version " + script.version() + " (" + script.description() + ")";
    }

    @Override
    public MigrationVersion getVersion() {
        return MigrationVersion.fromVersion(Integer.toString(script.version()));
    }

    @Override
    public String getDescription() {
        return script.description();
    }

    @Override
    public Integer getChecksum() {
        return checksum;
    }

    @Override
    public boolean canExecuteInTransaction() {
        return true;
    }

    @Override
    public void migrate(Context context) throws Exception {
        try (Statement statement = context.getConnection().createStatement()) {
            // Local to Flyway's transaction: the setting must not stay on a connection of the application's pool.
            statement.execute("SELECT set_config('lock_timeout', '" + lockWait.toMillis() + "ms', true)");
            statement.execute(script.sql());
        } catch (SQLException e) {
            if (LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
                throw new LockNotGranted(this, e);
            }
            throw e;
        }
    }

    /** The script gave up waiting for a lock after its lock wait; its transaction is rolled back. */
    static final class LockNotGranted extends SQLException {
        private final transient ScriptMigration script;

        LockNotGranted(ScriptMigration script, SQLException cause) {
            super(script.name() + " waited " + script.lockWait.toMillis() + " ms for a lock and gave up",
                    LOCK_NOT_AVAILABLE, cause);
            this.script = script;
        }

        ScriptMigration script() {
            return script;
        }
    }
}
