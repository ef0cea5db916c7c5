package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.HostileJson;
import io.outboxkit.testing.HostileRun;
import io.outboxkit.testing.PostgresExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad arguments never do anything: a generated corpus (seeded; see {@link HostileRun} to replay)
 * of argument lists, each a valid command broken on purpose (an unknown command or option, a
 * missing or malformed value, exclusive or missing selectors, a stray parameter) with hostile
 * strings (SQL, control characters, NUL, right-to-left marks, huge numbers) and harmless valid
 * options mixed in, plus hand-written classics (@file arguments among them). Each exits with the
 * usage status, prints exactly one line on stderr (no stack trace, and no control or format
 * character: an echoed ESC would drive the terminal) and nothing on stdout, and leaves
 * the outbox, which holds pending, published and dead messages, exactly as it was. The database
 * is reachable, so a command that slipped through would show.
 */
class HostileCliArgumentsTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 4);

    private static final Pattern STACK_TRACE = Pattern.compile("\\tat |\\.java:\\d+|Exception|Caused by");
    /** Control and format characters: NUL, ESC (terminal escape sequences), right-to-left overrides... */
    private static final Pattern CONTROL = Pattern.compile("[\\p{Cc}\\p{Cf}\\p{Cs}]");
    private static final List<String> COMMANDS = List.of("list", "requeue", "duplicate");
    private static final List<String> HARMLESS = List.of("--json", "--db-user=postgres");
    private static final List<String> JUNK = List.of("'; DROP TABLE outbox; --", "\u0000", "a\nb", "\r\n", "\u001b[2J\u001b[H",
            "\u202eeteled", "\ud800", "%n%s", "${jndi:ldap://127.0.0.1/a}", "9".repeat(40), "-1", "0x10", "1e3", " ", "",
            "--", "-", "\t", "x".repeat(5000), "\u00e9\u00e8", "DEAD\u0000", "dead ", "PENDING;", "1h30m", "15 m");

    /** A file an argument like {@code @file} would read, were argument files expanded. */
    private static final String ARGUMENT_FILE = argumentFile();

    private static Cli cli;
    private static String before;

    @BeforeAll
    static void anOutboxWithMessagesInEveryStatus() {
        db.truncateAll();
        for (int i = 0; i < 3; i++) {
            Outbox.write(db);
            Outbox.markPublished(db, Outbox.write(db));
            Outbox.markDead(db, Outbox.write(db), "gave up");
        }
        cli = Cli.against(db).with("CONSUMER_URL", "http://127.0.0.1:1/messages");
        before = outbox();
    }

    @AfterAll
    static void theOutboxIsAsItWas() {
        assertThat(outbox()).isEqualTo(before);
    }

    @Test
    void every_generated_bad_argument_list_exits_2_with_one_clean_line_and_changes_nothing() {
        HostileRun run = HostileRun.of("HostileCliArgumentsTest", 3000);
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream stray = new ByteArrayOutputStream();
        try {
            // anything printed outside the command's own writers (a logger, a default handler) is caught here
            System.setOut(new PrintStream(stray, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(stray, true, StandardCharsets.UTF_8));
            run.forEachCase(index -> {
                List<String> args = generate(HostileJson.forCase(run.seed(), index));
                String problem = problem(cli.run(args.toArray(String[]::new)));
                if (problem == null && stray.size() > 0) {
                    problem = "printed outside the command's output: " + stray.toString(StandardCharsets.UTF_8);
                }
                stray.reset();
                return problem == null ? null : problem + "\n    args: " + show(args);
            });
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        assertThat(outbox()).isEqualTo(before);
    }

    static Stream<Arguments> classics() {
        return Stream.of(
                Arguments.of(List.of("requeue", "--id", "'; DROP TABLE outbox; --")),
                Arguments.of(List.of("requeue", "--id", UUID.randomUUID() + "'; DROP TABLE outbox; --")),
                Arguments.of(List.of("requeue", "--since", "1970-01-01T00:00:00Z'; UPDATE outbox SET status='DEAD'; --")),
                Arguments.of(List.of("list", "--status", "dead'; DROP TABLE outbox; --")),
                Arguments.of(List.of("list", "--status", "dead", "--limit", "99999999999999999999")),
                Arguments.of(List.of("list", "--status", "dead", "--limit", "-2147483648")),
                Arguments.of(List.of("list", "--status", "DEAD\u0000")),
                Arguments.of(List.of("requeue", "--since", "999999999999d")),
                Arguments.of(List.of("requeue", "--since", "\u001b[31m1h")),
                Arguments.of(List.of("requeue", "--dead", "--dead")),
                Arguments.of(List.of("requeue", "--id")),
                Arguments.of(List.of("requeue", "--dead", "extra")),
                Arguments.of(List.of("list", "--status", "pending", "--status", "dead")),
                Arguments.of(List.of("--db-password", "s3cr3t-Hunter2", "list", "--status", "dead")),
                Arguments.of(List.of("list", "--status", "dead", "--db-password=s3cr3t-Hunter2")),
                Arguments.of(List.of("duplicate", "--consumer-url", "file:///etc/passwd")),
                Arguments.of(List.of("duplicate", "--consumer-url", "http://")),
                Arguments.of(List.of("duplicate", "--message-id", "\u202e" + UUID.randomUUID())),
                Arguments.of(List.of("\u001b]0;pwned\u0007")),
                Arguments.of(List.of("LIST", "--status", "dead")),
                Arguments.of(List.of("list", "--db-url", "mysql://root:s3cr3t-Hunter2@db/x", "--status", "dead")),
                Arguments.of(List.of("@" + ARGUMENT_FILE)),
                Arguments.of(List.of("requeue", "--id", "@" + ARGUMENT_FILE)),
                Arguments.of(List.of("list", "--status", "@" + ARGUMENT_FILE)));
    }

    @ParameterizedTest
    @MethodSource("classics")
    void every_classic_exits_2_with_one_clean_line_and_changes_nothing(List<String> args) {
        Cli.Run run = cli.run(args.toArray(String[]::new));

        assertThat(problem(run)).as(show(args)).isNull();
        assertThat(run.err()).doesNotContain("s3cr3t-Hunter2").doesNotContain("file-content");
        assertThat(outbox()).isEqualTo(before);
    }

    /** Null when the run is a proper refusal of bad arguments, else what is wrong with it. */
    private static String problem(Cli.Run run) {
        List<String> lines = run.errLines();
        if (run.status() != ReplayCli.EXIT_USAGE) {
            return "exit status " + run.status() + " (expected " + ReplayCli.EXIT_USAGE + "), stderr: " + run.err()
                    + " stdout: " + run.out();
        }
        if (!run.out().isEmpty()) {
            return "printed on stdout: " + run.out();
        }
        if (lines.size() != 1) {
            return lines.size() + " lines on stderr: " + run.err();
        }
        String line = lines.get(0);
        if (STACK_TRACE.matcher(line).find()) {
            return "a stack trace or exception on stderr: " + line;
        }
        if (CONTROL.matcher(line).find()) {
            return "a control character on stderr: " + show(List.of(line));
        }
        if (!line.startsWith("replay-cli")) {
            return "a line that does not say who speaks: " + line;
        }
        return null;
    }

    // ---- the generator: a valid command, broken at least once ----

    private static List<String> generate(HostileJson g) {
        Random random = g.random();
        String command = g.pick(COMMANDS);
        List<String> args = new ArrayList<>(valid(command, random));
        int breaks = 1 + random.nextInt(2);
        for (int i = 0; i < breaks; i++) {
            breakOnce(command, args, g);
        }
        if (random.nextInt(3) == 0) {
            args.add(Math.min(args.size(), 1 + random.nextInt(Math.max(1, args.size()))), g.pick(HARMLESS));
        }
        return args;
    }

    private static List<String> valid(String command, Random random) {
        return switch (command) {
            case "list" -> List.of("list", "--status", List.of("pending", "published", "dead").get(random.nextInt(3)),
                    "--limit", Integer.toString(1 + random.nextInt(100)));
            case "requeue" -> switch (random.nextInt(3)) {
                case 0 -> List.of("requeue", "--id", new UUID(random.nextLong(), random.nextLong()).toString());
                case 1 -> List.of("requeue", "--dead");
                default -> List.of("requeue", "--since", (1 + random.nextInt(48)) + "h");
            };
            default -> List.of("duplicate", "--message-id", new UUID(random.nextLong(), random.nextLong()).toString());
        };
    }

    /** One change that makes the arguments wrong whatever else they hold. */
    private static void breakOnce(String command, List<String> args, HostileJson g) {
        Random random = g.random();
        String junk = junk(g);
        switch (random.nextInt(7)) {
            case 0 -> args.set(0, "x" + junk.replace("-", "") + command.substring(1, 2).toUpperCase()); // an unknown command
            case 1 -> args.add(1 + random.nextInt(args.size()), "--no-such-option" + junk.replace("=", "").replace(" ", ""));
            case 2 -> {
                // an option's value replaced by junk that is never a valid value of it
                int option = optionIndex(args, random);
                if (option >= 0 && option + 1 < args.size() && !args.get(option + 1).startsWith("-")) {
                    args.set(option + 1, invalidValue(args.get(option), junk));
                } else {
                    args.add("--limit");
                    args.add("0");
                }
            }
            case 3 -> {
                // an option without its value, at the end
                args.add(g.pick(List.of("--status", "--limit", "--id", "--since", "--message-id", "--consumer-url", "--db-url")));
            }
            case 4 -> args.add("stray-" + junk.replace("-", "")); // a positional parameter nobody takes
            case 5 -> {
                if ("requeue".equals(command)) {
                    // two more selectors: with or without the first, more than one (or one twice)
                    args.add("--since=" + (1 + random.nextInt(9)) + "h");
                    args.add(g.pick(List.of("--dead", "--id=" + new UUID(random.nextLong(), random.nextLong()))));
                } else {
                    args.add(1, "--limit=" + g.pick(List.of("0", "10001", "-1", "2147483648", "1.5")));
                }
            }
            default -> {
                // the required part removed: list without --status, requeue without a selector, duplicate fed a bad id
                if ("list".equals(command)) {
                    int status = args.indexOf("--status");
                    if (status >= 0) {
                        args.remove(status + 1 < args.size() ? status + 1 : status);
                        args.remove(status);
                    } else {
                        args.add("--status");
                    }
                } else if ("requeue".equals(command)) {
                    args.subList(1, args.size()).removeIf(a -> a.startsWith("--dead") || a.startsWith("--id")
                            || a.startsWith("--since") || !a.startsWith("-"));
                } else {
                    args.add("--message-id=" + invalidValue("--message-id", junk));
                }
            }
        }
    }

    private static int optionIndex(List<String> args, Random random) {
        List<Integer> options = new ArrayList<>();
        for (int i = 1; i < args.size(); i++) {
            if (List.of("--status", "--limit", "--id", "--since", "--message-id").contains(args.get(i))) {
                options.add(i);
            }
        }
        return options.isEmpty() ? -1 : options.get(random.nextInt(options.size()));
    }

    /** A value {@code option} never accepts: junk with a character no valid value has. */
    private static String invalidValue(String option, String junk) {
        String marker = switch (option) {
            case "--limit" -> "#";
            case "--status" -> "@";
            case "--since" -> "#";
            default -> "g"; // not a hex digit: never a UUID
        };
        String value = junk + marker;
        return value.startsWith("-") ? "_" + value : value;
    }

    private static String junk(HostileJson g) {
        return g.random().nextBoolean() ? g.pick(JUNK) : g.pick(HostileJson.nastyStrings());
    }

    private static String argumentFile() {
        try {
            java.nio.file.Path file = java.nio.file.Files.createTempFile("replay-cli-args", ".txt");
            java.nio.file.Files.writeString(file, "--file-content-leaked\nrequeue\n--dead\n");
            file.toFile().deleteOnExit();
            return file.toString();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The outbox as text: every row, every column. */
    private static String outbox() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT coalesce(string_agg(o::text, E'\\n' ORDER BY seq), '') FROM outbox o")
                .mapTo(String.class).one());
    }

    private static String show(List<String> args) {
        StringBuilder text = new StringBuilder("[");
        for (String arg : args) {
            text.append(text.length() > 1 ? ", \"" : "\"");
            for (char c : arg.toCharArray()) {
                text.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c));
            }
            text.append('"');
            if (text.length() > 600) {
                return text.substring(0, 600) + "...]";
            }
        }
        return text.append(']').toString();
    }
}
