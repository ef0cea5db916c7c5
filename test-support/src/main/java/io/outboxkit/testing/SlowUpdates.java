package io.outboxkit.testing;

import java.time.Duration;
import org.jdbi.v3.core.Jdbi;

/**
 * Makes a table's updates slow, as a very large table would: from the {@code nth} update statement
 * on, each sleeps on the server before it runs, so that a test can act while one is running there
 * (stop the client, cancel it, let its statement timeout end it) and then see what still runs.
 * The sleep is PostgreSQL's {@code pg_sleep}, which a cancel or a statement timeout ends.
 */
public final class SlowUpdates {

    private SlowUpdates() {
    }

    /** From the {@code nth} update statement of {@code table} on (1 for the next), each sleeps {@code sleep} first. */
    public static void of(Jdbi jdbi, String table, int nth, Duration sleep) {
        jdbi.useHandle(h -> {
            h.execute("CREATE SEQUENCE IF NOT EXISTS slow_updates_seen");
            h.execute("SELECT setval('slow_updates_seen', 1, false)");
            h.execute("CREATE OR REPLACE FUNCTION slow_updates() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "IF nextval('slow_updates_seen') >= " + nth + " THEN PERFORM pg_sleep(" + sleep.toSeconds() + "); "
                    + "END IF; RETURN NULL; END $$");
            h.execute("CREATE OR REPLACE TRIGGER slow_updates BEFORE UPDATE ON " + table
                    + " FOR EACH STATEMENT EXECUTE FUNCTION slow_updates()");
        });
    }

    /** Updates of {@code table} run at their own pace again. */
    public static void remove(Jdbi jdbi, String table) {
        jdbi.useHandle(h -> h.execute("DROP TRIGGER IF EXISTS slow_updates ON " + table));
    }

    /** How many statements of other sessions of the database are sleeping now. */
    public static long sleeping(Jdbi jdbi) {
        return jdbi.withHandle(h -> h.createQuery("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        + "current_database() AND pid <> pg_backend_pid() AND state = 'active' AND wait_event = 'PgSleep'")
                .mapTo(Long.class).one());
    }
}
