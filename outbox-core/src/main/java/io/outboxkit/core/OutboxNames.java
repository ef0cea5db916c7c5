package io.outboxkit.core;

import io.outboxkit.core.internal.SqlIdentifiers;
import io.outboxkit.core.spi.Texts;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The names of one outbox's database objects: the schema its tables live in, the outbox table,
 * the processed-messages table and the channel its pollers are woken on. Set once and shared by
 * every part that touches those objects ({@link OutboxWriter}, {@link OutboxPoller},
 * {@link IdempotentHandler}, {@link OutboxRetention}, {@link OutboxAdmin}) and by the schema that
 * creates them ({@link OutboxSchema}). Two services may keep two outboxes in one database by giving
 * each its own names: their pollers then deliver and are woken independently.
 *
 * <p>Every name is a lowercase SQL identifier (a letter or {@code _}, then letters, digits or
 * {@code _}), checked here and always written quoted, so no name can change the SQL it is put in.
 * The indexes, trigger, function and wake-up table of an outbox are named after its table
 * ({@code outbox} gives {@code outbox_pending_seq}, {@code outbox_notify}, {@code outbox_wakeup}, ...), which bounds the table names' length so
 * that every derived name fits PostgreSQL's 63 bytes. Immutable and thread-safe.
 *
 * @param schema         the schema holding both tables, or null for the connection's current
 *                       schema (the first of its {@code search_path}, usually {@code public})
 * @param outboxTable    the outbox table; default {@value #DEFAULT_OUTBOX_TABLE}
 * @param processedTable the table of messages each consumer has processed; default
 *                       {@value #DEFAULT_PROCESSED_TABLE}
 * @param channel        the NOTIFY channel a commit to the outbox wakes pollers on; default
 *                       {@value #DEFAULT_CHANNEL}
 */
public record OutboxNames(String schema, String outboxTable, String processedTable, String channel) {

    // Before DEFAULT: static fields are set in order, and DEFAULT's constructor checks with it.
    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]*");

    /** The default outbox table: {@value}. */
    public static final String DEFAULT_OUTBOX_TABLE = "outbox";
    /** The default processed-messages table: {@value}. */
    public static final String DEFAULT_PROCESSED_TABLE = "processed_messages";
    /** The default wake-up channel: {@value}. */
    public static final String DEFAULT_CHANNEL = "outbox";

    /** The names this library uses unless told otherwise: the tables of the current schema, as before names were settings. */
    public static final OutboxNames DEFAULT = new OutboxNames(null, DEFAULT_OUTBOX_TABLE, DEFAULT_PROCESSED_TABLE,
            DEFAULT_CHANNEL);

    /** PostgreSQL's longest identifier, in bytes (NAMEDATALEN - 1). */
    static final int MAX_IDENTIFIER_LENGTH = 63;
    /** The longest suffix added to the outbox table's name: its ordering index. */
    static final String LONGEST_OUTBOX_SUFFIX = "_undelivered_aggregate";

    /** The suffix added to the outbox table's name for its wake-up table. */
    static final String WAKEUP_SUFFIX = "_wakeup";
    /** The suffix added to the processed table's name: its retention index. */
    static final String PROCESSED_SUFFIX = "_processed_at";

    /**
     * Checks every name.
     *
     * @throws InvalidOptionException naming the setting at fault and what it may be
     */
    public OutboxNames {
        if (schema != null) {
            requireIdentifier("schema", schema, MAX_IDENTIFIER_LENGTH);
            if (schema.startsWith("pg_")) {
                throw new InvalidOptionException("OutboxNames", List.of("schema"),
                        "schema must not start with pg_ (PostgreSQL reserves it), was " + schema);
            }
        }
        requireIdentifier("outboxTable", outboxTable, MAX_IDENTIFIER_LENGTH - LONGEST_OUTBOX_SUFFIX.length());
        requireIdentifier("processedTable", processedTable, MAX_IDENTIFIER_LENGTH - PROCESSED_SUFFIX.length());
        requireIdentifier("channel", channel, MAX_IDENTIFIER_LENGTH);
        if (outboxTable.equals(processedTable)) {
            throw new InvalidOptionException("OutboxNames", List.of("processedTable", "outboxTable"),
                    "outboxTable and processedTable must differ, both were " + outboxTable);
        }
        List<String> outboxRelations = outboxRelations(outboxTable);
        for (String processedRelation : processedRelations(processedTable)) {
            if (outboxRelations.contains(processedRelation)) {
                // Else the schema's later scripts fail on a name an earlier one took, leaving it half applied.
                throw new InvalidOptionException("OutboxNames", List.of("processedTable", "outboxTable"),
                        "processedTable " + processedTable + " and outboxTable " + outboxTable + " would both name "
                                + processedRelation + " (a table or index the schema creates for each): choose other names");
            }
        }
    }

    /**
     * The names, unqualified, of every table, index and sequence the schema creates for these
     * names, in their schema: the two tables with their keys, indexes and sequences, the wake-up
     * table, and the default schema history ({@code <outboxTable>_schema_history}) with its key and
     * index. Another object of the schema (a migration tool's own history, say) must take none of them.
     */
    public List<String> relations() {
        return Stream.concat(outboxRelations(outboxTable).stream(),
                processedRelations(processedTable).stream()).toList();
    }

    // What the schema names after each table (itself, its key, indexes, identity sequence, wake-up table, history);
    // inline, not constants: DEFAULT is built while this class is initialised.
    private static List<String> outboxRelations(String outboxTable) {
        return relations(outboxTable, List.of("", "_pkey", "_seq_seq", "_seq_key", "_pending_seq", LONGEST_OUTBOX_SUFFIX,
                "_published_at", "_dead_seq", WAKEUP_SUFFIX, WAKEUP_SUFFIX + "_pkey", "_schema_history",
                "_schema_history_pk", "_schema_history_s_idx"));
    }

    private static List<String> processedRelations(String processedTable) {
        return relations(processedTable, List.of("", "_pkey", PROCESSED_SUFFIX));
    }

    /** The tables, indexes and sequences the schema creates for a table named {@code table}. */
    private static List<String> relations(String table, List<String> suffixes) {
        return suffixes.stream().map(suffix -> table + suffix).toList();
    }

    /**
     * The default names in {@code schema} (null: the connection's current schema), the channel
     * included: a second outbox in the same database takes a channel of its own
     * ({@link #withChannel}), or its commits wake the other's idle pollers too.
     */
    public static OutboxNames inSchema(String schema) {
        return DEFAULT.withSchema(schema);
    }

    /** These names with another schema (null: the connection's current schema). */
    public OutboxNames withSchema(String schema) {
        return new OutboxNames(schema, outboxTable, processedTable, channel);
    }

    /** These names with another outbox table. */
    public OutboxNames withOutboxTable(String outboxTable) {
        return new OutboxNames(schema, outboxTable, processedTable, channel);
    }

    /** These names with another processed-messages table. */
    public OutboxNames withProcessedTable(String processedTable) {
        return new OutboxNames(schema, outboxTable, processedTable, channel);
    }

    /** These names with another wake-up channel. */
    public OutboxNames withChannel(String channel) {
        return new OutboxNames(schema, outboxTable, processedTable, channel);
    }

    /**
     * The name, unqualified, of the trigger function the schema creates in its schema for these
     * names: it wakes the outbox's waiting pollers on {@link #channel} when messages are committed.
     */
    public String notifyFunction() {
        return outboxTable + "_notify";
    }

    /** The outbox table as SQL: quoted, and qualified by the schema when one is set. */
    public String qualifiedOutboxTable() {
        return SqlIdentifiers.qualified(schema, outboxTable);
    }

    /**
     * The outbox's wake-up table as SQL ({@code <outboxTable>_wakeup}: quoted, and
     * qualified by the schema when one is set): its one row says until when a poller waits for a
     * notification; commits notify only before then.
     */
    public String qualifiedWakeupTable() {
        return SqlIdentifiers.qualified(schema, outboxTable + WAKEUP_SUFFIX);
    }

    /** The processed-messages table as SQL: quoted, and qualified by the schema when one is set. */
    public String qualifiedProcessedTable() {
        return SqlIdentifiers.qualified(schema, processedTable);
    }

    private static void requireIdentifier(String setting, String value, int maxLength) {
        Objects.requireNonNull(value, () -> "OutboxNames: " + setting + " must not be null");
        if (value.isEmpty() || value.length() > maxLength || !IDENTIFIER.matcher(value).matches()) {
            throw new InvalidOptionException("OutboxNames", List.of(setting),
                    setting + " must be a lowercase SQL identifier of 1 to " + maxLength
                            + " characters (a letter or _, then letters, digits or _), was \""
                            + Texts.abbreviate(value, 80) + "\"");
        }
    }

}
