package io.outboxkit.migrations;

import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.OutboxNames;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the database already holds that an outbox's names contradict, read from the catalog in one
 * query before anything is written: a start that would fail on Flyway's raw error (a table that
 * exists already, a checksum mismatch), or start and never be woken, is refused instead with a
 * message naming the setting to change.
 *
 * <ul>
 *   <li>The processed-messages table exists while the outbox table does not: version 1 creates
 *       both, so it would fail on "relation ... already exists". Most often a second outbox of the
 *       schema left on the default processed-messages table, which the first created. (Sharing it
 *       would take a version 1 that skips the table, recorded under version 1's checksum, and the
 *       second outbox's history would then claim a table it never created.)</li>
 *   <li>The installed trigger function notifies on another channel than these names': version 1
 *       and later write the channel into it, so the pollers of a process with another channel are
 *       woken by no commit. With a history, Flyway would also fail on a checksum mismatch, and its
 *       advice, a repair, would record the new channel without changing the trigger. Without one
 *       (installed from printed SQL), at version 5 nothing is left to apply, so nothing would
 *       write the channel.</li>
 *   <li>The names give no schema, the connection's current schema has no outbox table, and the
 *       search_path reaches one of that name in another schema (an outbox installed in
 *       {@code public} behind a {@code "$user"} schema). Version 1 would create a second, empty
 *       outbox in the current schema, and the runtime's unqualified names, which resolve along the
 *       search_path, would then reach it instead: the messages still pending in the other would
 *       never be delivered. A processed-messages table alone there is no outbox, and no refusal.</li>
 * </ul>
 *
 * <p>Not a contradiction: an outbox installed without a history at version 1 to 4 given another
 * channel. The scripts still to apply write the trigger function again with this process's
 * channel (version 5 replaces it), so the upgrade moves the outbox onto it, logged at WARN for
 * the processes still on the old one.
 */
final class InstalledNames {

    private static final Logger LOG = LoggerFactory.getLogger(InstalledNames.class);

    private static final String SETTINGS_OF_THE_CHANNEL = "OutboxNames.withChannel; OUTBOX_CHANNEL for order-service, "
            + "consumer and outbox-relay; outboxkit.schema.channel for the Spring Boot starter";
    private static final String SETTINGS_OF_THE_SCHEMA = "OutboxNames.inSchema; OUTBOX_SCHEMA for order-service, "
            + "consumer and outbox-relay; outboxkit.schema.name for the Spring Boot starter";
    private static final String SETTINGS_OF_THE_PROCESSED_TABLE = "OutboxNames.withProcessedTable; PROCESSED_TABLE for "
            + "order-service, consumer and outbox-relay; outboxkit.schema.processed-table for the Spring Boot starter";

    private InstalledNames() {
    }

    /**
     * Why {@code names} cannot be migrated over what the database holds, or would not be woken,
     * naming the setting to change; empty when nothing contradicts them.
     *
     * <p>Every object is looked up by name in the names' schema, or in the connection's current
     * schema when they have none (where version 1 creates them), never along the search_path: a
     * processed-messages table or trigger function of a later schema of the path (another
     * application's, in {@code public}) is not this outbox's. One lookup follows the path: for names
     * without a schema, whether it reaches an outbox table of another schema, which a new one in the
     * current schema would hide.
     *
     * @param historyTable the history table's name, in that schema: an outbox at version 5 without
     *                     it (installed from printed SQL) moves to another channel by running version
     *                     5 again, which the refusal then says
     */
    static Optional<String> contradiction(Connection connection, OutboxNames names, String historyTable)
            throws SQLException {
        try (PreparedStatement look = connection.prepareStatement(inOwnSchema("""
                SELECT {relation} IS NOT NULL,
                       (SELECT format('%I.%I', s.nspname, c.relname) FROM pg_class c JOIN s ON c.relnamespace = s.oid
                        WHERE c.oid = {relation}),
                       f.channel,
                       {relation} IS NOT NULL,
                       coalesce(f.prosrc LIKE '%schema version 5%', false),
                       (SELECT string_agg(format('%I.%I', s.nspname, c.relname), ', ' ORDER BY c.relname)
                        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN s ON c.relnamespace = s.oid
                        WHERE t.tgname = c.relname || '_notify_on_insert'),
                       current_schema(),
                       (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE ?::text IS NULL AND c.oid = to_regclass(quote_ident(?)) AND current_schema() IS NOT NULL
                          AND n.oid IS DISTINCT FROM (SELECT oid FROM s) AND n.oid <> pg_my_temp_schema())
                FROM (SELECT 1) one
                LEFT JOIN (SELECT prosrc, substring(prosrc FROM 'pg_notify[(]''([^'']*)''') AS channel
                           FROM pg_proc WHERE oid = {function}) f ON true"""))) {
            look.setString(1, names.schema());
            look.setString(2, names.outboxTable());
            look.setString(3, names.processedTable());
            look.setString(4, historyTable);
            look.setString(5, names.schema());
            look.setString(6, names.outboxTable());
            look.setString(7, names.notifyFunction());
            try (ResultSet row = look.executeQuery()) {
                row.next();
                boolean outbox = row.getBoolean(1);
                String processed = row.getString(2);
                String channel = row.getString(3);
                boolean printed = !row.getBoolean(4);
                boolean version5 = row.getBoolean(5);
                String outboxes = row.getString(6);
                String current = row.getString(7);
                String other = row.getString(8);
                if (other != null) {
                    return Optional.of(wouldShadow(names, current, other));
                }
                if (!outbox && processed != null) {
                    return Optional.of(processedTableTaken(names, processed, outboxes));
                }
                if (channel != null && !channel.equals(names.channel())) {
                    if (printed && !version5) {
                        LOG.warn("the outbox {} notifies its pollers on channel {}, and this process was given "
                                + "channel {}: the schema versions still to apply write its trigger again with {}, so "
                                + "processes left on channel {} find new messages only at their poll interval until "
                                + "they restart with it", names.qualifiedOutboxTable(), channel, names.channel(),
                                names.channel(), channel);
                        return Optional.empty();
                    }
                    return Optional.of(otherChannel(names, channel, printed));
                }
                return Optional.empty();
            }
        }
    }

    /**
     * {@code query} with the lookups of the outbox's objects that every catalog read of this module
     * makes: {@code {relation}} is the oid of the relation named by its parameter, {@code {function}}
     * that of the argument-less function named by its parameter (the trigger function,
     * {@link OutboxNames#notifyFunction}); null when absent. Both look in one schema, {@code s} (its oid and
     * nspname, for {@code query} to use too), whose parameter comes first: the names' schema, or the
     * connection's current schema when they have none, where version 1 creates the outbox. Never
     * along the search_path, as to_regclass of an unqualified name would: an object of a later
     * schema of the path (another application's outbox, in {@code public}) is not this outbox's.
     */
    static String inOwnSchema(String query) {
        return "WITH s AS (SELECT oid, nspname FROM pg_namespace WHERE nspname = coalesce(?, current_schema()))\n"
                + query.replace("{relation}",
                        "(SELECT c.oid FROM pg_class c JOIN s ON c.relnamespace = s.oid WHERE c.relname = ?)")
                .replace("{function}", "(SELECT p.oid FROM pg_proc p JOIN s ON p.pronamespace = s.oid "
                        + "WHERE p.proname = ? AND p.pronargs = 0)");
    }

    /** @param other the schema of the outbox the search_path reaches, not the current one */
    private static String wouldShadow(OutboxNames names, String current, String other) {
        String shadowed = other + "." + names.outboxTable();
        return "the outbox's names give no schema, so its table " + names.outboxTable() + " belongs in the connection's "
                + "current schema " + current + ", which has none, while the search_path reaches the outbox " + shadowed
                + " of another schema. Creating one in " + current + " would hide " + shadowed + " from every unqualified "
                + "read and write on this search_path (writers, pollers, admin). Set the outbox's schema ("
                + SETTINGS_OF_THE_SCHEMA + ") on every process of this outbox: to " + other + " if " + shadowed
                + " is this application's outbox (its pending messages are then delivered), or to " + current
                + " if it belongs to another application, to create this one's there (README, \"The tables\"). "
                + "Nothing was created";
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

    /** @param printed installed without a history (at version 5: {@link #contradiction} let earlier ones upgrade) */
    private static String otherChannel(OutboxNames names, String installed, boolean printed) {
        String advice = printed
                ? "; or, to move this outbox (installed without OutboxMigrations' history) to channel " + names.channel()
                + ", write its trigger again as the tables' owner: " + OutboxMigrations.version5Command(names)
                + ", then start every process of the outbox with channel " + names.channel() + " (until they restart, "
                + "processes on channel " + installed + " find new messages only at their poll interval)"
                : ". An outbox with OutboxMigrations' history keeps the channel its trigger was last written with (when "
                + "it was created, or upgraded from printed SQL by a process given that channel): its history records the "
                + "scripts with that channel written in, and Flyway's repair would not change the trigger";
        return "the outbox " + names.qualifiedOutboxTable() + " notifies its pollers on channel " + installed
                + " (written into its trigger), but this process was given channel " + names.channel()
                + ": its pollers, listening on " + names.channel() + ", would be woken by no commit. Set channel ("
                + SETTINGS_OF_THE_CHANNEL + ") to " + installed + " on this process" + advice
                + " (README, \"The tables\"). Nothing was changed";
    }
}
