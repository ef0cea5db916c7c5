package io.outboxkit.core.internal;

/** Identifiers written into SQL: always quoted, so a name can never be read as SQL. */
public final class SqlIdentifiers {

    private SqlIdentifiers() {
    }

    /** {@code name} quoted, qualified by {@code schema} (quoted) unless that is null. */
    public static String qualified(String schema, String name) {
        return schema == null ? quoted(name) : quoted(schema) + "." + quoted(name);
    }

    /**
     * {@code identifier} in double quotes. The callers pass names {@link io.outboxkit.core.OutboxNames}
     * checked to be plain lowercase identifiers; a quote inside is doubled all the same.
     */
    public static String quoted(String identifier) {
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }
}
