package io.outboxkit.core;

import io.outboxkit.core.internal.OutboxSql;
import io.outboxkit.core.internal.SqlIdentifiers;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The SQL that creates the library's database objects (the outbox and processed-messages tables,
 * their indexes, the wake-up trigger and the table where waiting pollers announce themselves), with the names of an {@link OutboxNames} filled in. Nothing
 * else: no table of the application's.
 *
 * <p>It comes as versioned scripts, applied in version order, each once. {@code OutboxMigrations}
 * (the {@code io.outboxkit:migrations} module) applies them with Flyway and records them in a history
 * table of their own; a service with another migration tool (Liquibase, plain psql) copies them in:
 * <pre>{@code
 * java -cp outbox-core.jar io.outboxkit.core.OutboxSchema --schema messaging > outboxkit-V1.sql
 * }</pre>
 * prints every script with those names (options {@code --schema}, {@code --outbox-table},
 * {@code --processed-table}, {@code --channel}; defaults as {@link OutboxNames#DEFAULT}), or only one
 * with {@code --version N}, to keep as a file of its own. A later
 * release adds scripts and never changes a published one, so a tool that records what it applied
 * applies only the new ones. Thread-safe.
 */
public final class OutboxSchema {

    /** The scripts in version order: their files under {@code outboxkit-schema/} on the classpath. */
    private static final List<String> FILES = List.of("V1__outbox.sql", "V2__dead_index.sql",
            "V3__notify_only_while_waiting.sql", "V4__wakeup_lock_of_the_table.sql",
            "V5__wakeup_table_qualified.sql");

    private static final Pattern FILE_NAME = Pattern.compile("V(\\d+)__(\\w+)\\.sql");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{(\\w+)}");
    private static final String USAGE = "usage: java -cp outbox-core.jar io.outboxkit.core.OutboxSchema [--schema S] "
            + "[--outbox-table T] [--processed-table P] [--channel C] [--version N]";

    private OutboxSchema() {
    }

    /**
     * One versioned script.
     *
     * @param version     its version, from 1; applied in this order
     * @param description what it does, from its file name (e.g. {@code outbox})
     * @param sql         its statements, with the names filled in
     */
    public record Script(int version, String description, String sql) {
    }

    /** Every script, in version order, with {@code names} filled in. */
    public static List<Script> scripts(OutboxNames names) {
        Objects.requireNonNull(names, "names");
        Map<String, String> values = placeholders(names);
        List<Script> scripts = new ArrayList<>(FILES.size());
        for (String file : FILES) {
            Matcher name = FILE_NAME.matcher(file);
            if (!name.matches()) {
                throw new IllegalStateException("schema file " + file + " is not named V<version>__<description>.sql");
            }
            scripts.add(new Script(Integer.parseInt(name.group(1)), name.group(2), fill(file, read(file), values)));
        }
        return List.copyOf(scripts);
    }

    /** Every script, in version order, as one text to run in a transaction (for psql, or a tool without versions). */
    public static String sql(OutboxNames names) {
        StringBuilder all = new StringBuilder();
        for (Script script : scripts(names)) {
            all.append("-- outboxkit schema, version ").append(script.version()).append(": ")
                    .append(script.description()).append('\n').append(script.sql()).append('\n');
        }
        return all.toString();
    }

    /**
     * Prints {@link #sql} for the names given as options, or with {@code --version N} that one
     * script only; with {@code --help} (or {@code -h}) its usage, exiting with status 0. A bad option
     * or name prints one line and the usage, and exits with status 2.
     */
    public static void main(String[] args) {
        try {
            System.out.print(text(args));
        } catch (IllegalArgumentException e) {
            System.err.println("OutboxSchema: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
        }
    }

    /** What {@link #main} prints for {@code args}. */
    static String text(String[] args) {
        List<String> rest = new ArrayList<>(List.of(args));
        if (rest.contains("--help") || rest.contains("-h")) {
            return USAGE + "\n";
        }
        int option = rest.indexOf("--version");
        if (option < 0) {
            return sql(namesFrom(rest.toArray(String[]::new)));
        }
        if (option + 1 >= rest.size()) {
            throw new IllegalArgumentException("--version needs a value");
        }
        String version = rest.remove(option + 1);
        rest.remove(option);
        return scripts(namesFrom(rest.toArray(String[]::new))).stream()
                .filter(script -> Integer.toString(script.version()).equals(version))
                .map(Script::sql).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("there is no version " + version + " (there are 1 to "
                        + FILES.size() + ")"));
    }

    static OutboxNames namesFrom(String[] args) {
        OutboxNames names = OutboxNames.DEFAULT;
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(args[i] + " needs a value");
            }
            String value = args[i + 1];
            names = switch (args[i]) {
                case "--schema" -> names.withSchema(value);
                case "--outbox-table" -> names.withOutboxTable(value);
                case "--processed-table" -> names.withProcessedTable(value);
                case "--channel" -> names.withChannel(value);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            };
        }
        return names;
    }

    private static Map<String, String> placeholders(OutboxNames names) {
        Map<String, String> values = new LinkedHashMap<>();
        values.put("create_schema", names.schema() == null ? ""
                : "CREATE SCHEMA IF NOT EXISTS " + SqlIdentifiers.quoted(names.schema()) + ";\n");
        values.put("outbox", names.qualifiedOutboxTable());
        values.put("processed", names.qualifiedProcessedTable());
        values.put("outbox_table", names.outboxTable());
        values.put("processed_table", names.processedTable());
        values.put("notify_function", OutboxSql.notifyFunction(names));
        values.put("channel", names.channel());
        values.put("wakeup", names.qualifiedWakeupTable());
        values.put("wakeup_lock", "'" + OutboxSql.wakeupLockName(names) + "'");
        values.put("wakeup_lock_class", Integer.toString(OutboxSql.WAKEUP_LOCK_CLASS));
        return values;
    }

    private static String fill(String file, String template, Map<String, String> values) {
        Matcher placeholder = PLACEHOLDER.matcher(template);
        StringBuilder filled = new StringBuilder(template.length() + 256);
        while (placeholder.find()) {
            String value = values.get(placeholder.group(1));
            if (value == null) {
                throw new IllegalStateException("schema file " + file + " names an unknown placeholder "
                        + placeholder.group());
            }
            placeholder.appendReplacement(filled, Matcher.quoteReplacement(value));
        }
        placeholder.appendTail(filled);
        return filled.toString();
    }

    private static String read(String file) {
        String path = "/outboxkit-schema/" + file;
        try (InputStream in = OutboxSchema.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("schema file " + path + " is missing from the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read schema file " + path, e);
        }
    }
}
