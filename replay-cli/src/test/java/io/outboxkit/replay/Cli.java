package io.outboxkit.replay;

import io.outboxkit.app.Env;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.testing.PostgresExtension;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashMap;
import java.util.Map;

/** Runs replay-cli in-process, as {@code main} would, with an environment of the test's choosing. */
final class Cli {

    /** A database nothing listens on. */
    static final String UNREACHABLE_DB = "jdbc:postgresql://127.0.0.1:1/nowhere";

    private final Map<String, String> env;

    private Cli(Map<String, String> env) {
        this.env = env;
    }

    /** A CLI configured, through DB_URL / DB_USER / DB_PASSWORD, for the test class's database. */
    static Cli against(PostgresExtension db) {
        return new Cli(TestDatabases.env(db));
    }

    /** A CLI whose database cannot be reached, so any command that touches it fails. */
    static Cli withoutDatabase() {
        return new Cli(new HashMap<>(Map.of("DB_URL", UNREACHABLE_DB)));
    }

    /** This CLI with one more environment variable. */
    Cli with(String name, String value) {
        Map<String, String> more = new HashMap<>(env);
        more.put(name, value);
        return new Cli(more);
    }

    /** The value this CLI gives the environment variable {@code name}, or null. */
    String env(String name) {
        return env.get(name);
    }

    Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = ReplayCli.commandLine(Env.of(env), new PrintWriter(out, true), new PrintWriter(err, true))
                .execute(args);
        return new Run(status, out.toString(), err.toString());
    }

    /** What one command did: its exit status and everything it printed. */
    record Run(int status, String out, String err) {

        /** The non-empty lines printed on stderr. */
        java.util.List<String> errLines() {
            return err.lines().filter(line -> !line.isBlank()).toList();
        }
    }
}
