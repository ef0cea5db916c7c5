package io.outboxkit.migrations;

import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.OutboxNames;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/**
 * What the database already holds that an outbox's names contradict, read from the catalog in one
 * query before anything is written: a start that would fail on Flyway's raw error (a table that
 * exists already) is refused instead with a message naming the setting to change.
 *
 * <ul>
 *   <li>The processed-messages table exists while the outbox table does not: version 1 creates
 *       both, so it would fail on "relation ... already exists". Most often a second outbox of the
 *       schema left on the default processed-messages table, which the first created. (Sharing it
 *       would take a version 1 that skips the table, recorded under version 1's checksum, and the
 *       second outbox's history would then claim a table it never created.)</li>
 * </ul>
 */
final class InstalledNames {

    private static final String SETTINGS_OF_THE_PROCESSED_TABLE = "OutboxNames.withProcessedTable; PROCESSED_TABLE for "
            + "order-service, consumer and outbox-relay; outboxkit.schema.processed-table for the Spring Boot starter";

    private InstalledNames() {
    }

    /**
     * Why {@code names} cannot be migrated over what the database holds, naming the setting to
     * change; empty when nothing contradicts them.
     */
    static Optional<String> contradiction(Connection connection, OutboxNames names) throws SQLException {
        try (PreparedStatement look = connection.prepareStatement("""
                SELECT to_regclass(?) IS NOT NULL,
                       to_regclass(?)::text,
                       (SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY c.relname)
                        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass(?))
                          AND t.tgname = c.relname || '_notify_on_insert')""")) {
            look.setString(1, names.qualifiedOutboxTable());
            look.setString(2, names.qualifiedProcessedTable());
            look.setString(3, names.qualifiedProcessedTable());
            try (ResultSet row = look.executeQuery()) {
                row.next();
                boolean outbox = row.getBoolean(1);
                String processed = row.getString(2);
                String outboxes = row.getString(3);
                if (!outbox && processed != null) {
                    return Optional.of(processedTableTaken(names, processed, outboxes));
                }
                return Optional.empty();
            }
        }
    }

    private static String processedTableTaken(OutboxNames names, String processed, String outboxes) {
        String example = names.outboxTable() + "_processed";
        boolean exampleFits;
        try {
            exampleFits = names.withProcessedTable(example) != null;
        } catch (InvalidOptionException e) {
            exampleFits = false; // longer than a processed table's name may be
        }
        return "could not migrate the outbox " + names.qualifiedOutboxTable() + ": its processed-messages table "
                + processed + " exists already, "
                + (outboxes == null ? "though no outbox of that schema has it (a table of another tool?)"
                : "created by another outbox of that schema (" + outboxes + ")")
                + ", and each outbox's first schema version creates a processed-messages table of its own. Set "
                + "processedTable (" + SETTINGS_OF_THE_PROCESSED_TABLE + ") to a table of this outbox's own"
                + (exampleFits ? ", e.g. " + example : "") + ", on every process of this outbox (the other outbox's "
                + "consumers keep its table). Nothing was created";
    }
}
