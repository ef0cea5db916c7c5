package io.outboxkit.migrations;

import java.util.concurrent.ThreadLocalRandom;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.configuration.FluentConfiguration;

/**
 * Runs a Flyway configuration whose history table shares its schema with other tables (the
 * application's, the library's, another service's), as every history here does: a schema that
 * holds tables but not this history starts it with a baseline at version 0, so that version 1
 * and later are applied, and processes starting at once all succeed.
 *
 * <p>Why the retry: two processes that find the history missing in a non-empty schema both
 * decide to baseline; the one that comes second finds the history just created and still empty,
 * and Flyway refuses ("already exists, and is empty"); or, where the first had already applied a
 * script, "already contains migrations". Tried again, it finds the history and takes Flyway's lock
 * like any later start. Thread-safe.
 */
public final class SharedSchemaFlyway {

    /** How often a migration that lost the race to start the history is tried in all. */
    static final int ATTEMPTS = 5;
    /**
     * Part of Flyway's message when another process started the history a moment before (the
     * message goes on with advice to delete the table, which is wrong here).
     */
    private static final String HISTORY_JUST_STARTED = "as it already exists, and is empty";
    /**
     * Flyway's message when this process decided to baseline (the schema looked non-empty: another
     * process's new history table) after that process had already applied a first script.
     */
    private static final String HISTORY_JUST_FILLED = "as it already contains migrations";

    private SharedSchemaFlyway() {
    }

    /**
     * Migrates with {@code config} (baselining a non-empty schema at version 0), trying again
     * when another process started the same history at the same moment.
     *
     * @return how many migrations this call applied
     * @throws FlywayException when the database cannot be migrated
     */
    public static int migrate(FluentConfiguration config) {
        return migrate(config, "0");
    }

    /**
     * As {@link #migrate(FluentConfiguration)}, baselining a non-empty schema without this history at
     * {@code baselineVersion}: the version its objects are already at (installed by another tool).
     */
    static int migrate(FluentConfiguration config, String baselineVersion) {
        config.baselineOnMigrate(true).baselineVersion(baselineVersion);
        for (int attempt = 1; ; attempt++) {
            try {
                return config.load().migrate().migrationsExecuted;
            } catch (FlywayException e) {
                String message = String.valueOf(e.getMessage());
                if (attempt >= ATTEMPTS || !(message.contains(HISTORY_JUST_STARTED) || message.contains(HISTORY_JUST_FILLED))) {
                    throw e;
                }
                pause(attempt);
            }
        }
    }

    private static void pause(int attempt) {
        sleep(ThreadLocalRandom.current().nextLong(50, 100L * attempt + 100)); // let the other start commit
    }

    /** Waits before another attempt; an interrupt ends the migration. */
    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FlywayException("interrupted while waiting to migrate", e);
        }
    }
}
