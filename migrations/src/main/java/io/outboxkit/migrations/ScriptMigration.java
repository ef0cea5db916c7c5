package io.outboxkit.migrations;

import io.outboxkit.core.OutboxSchema;
import java.nio.charset.StandardCharsets;
import java.sql.Statement;
import java.util.zip.CRC32;
import org.flywaydb.core.api.MigrationVersion;
import org.flywaydb.core.api.migration.Context;
import org.flywaydb.core.api.migration.JavaMigration;

/**
 * One of {@link OutboxSchema}'s scripts as a Flyway migration, run in Flyway's transaction. Its
 * checksum is that of the SQL with the names filled in, so Flyway's validation reports a script
 * changed since it was applied, or the same history table used for other names.
 */
final class ScriptMigration implements JavaMigration {

    private final OutboxSchema.Script script;

    ScriptMigration(OutboxSchema.Script script) {
        this.script = script;
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
        CRC32 crc = new CRC32();
        crc.update(script.sql().getBytes(StandardCharsets.UTF_8));
        return (int) crc.getValue();
    }

    @Override
    public boolean canExecuteInTransaction() {
        return true;
    }

    @Override
    public void migrate(Context context) throws Exception {
        try (Statement statement = context.getConnection().createStatement()) {
            statement.execute(script.sql());
        }
    }
}
