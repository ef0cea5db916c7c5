package io.outboxkit.replay;

import io.outboxkit.app.Env;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code java -jar replay-cli.jar}: inspect the outbox ({@code list}), put messages back for
 * redelivery ({@code requeue}), and show the consumer's idempotency ({@code duplicate}).
 *
 * <p>The database is {@code DB_URL}, {@code DB_USER}, {@code DB_PASSWORD} (the password only from
 * the environment, never from the command line, where {@code ps} would show it); the consumer is
 * {@code CONSUMER_URL}, default {@value #DEFAULT_CONSUMER_URL}. Exit status: {@value #EXIT_OK} on
 * success, {@value #EXIT_FAILED} when the command failed (one line on stderr, no stack trace),
 * {@value #EXIT_USAGE} for bad arguments; stopped by a signal, the JVM's status for it (130 for
 * Ctrl-C, 143 for SIGTERM), whatever the command returns. Everything it prints is UTF-8, whatever
 * the locale.
 */
public final class ReplayCli {

    /** The exit status of a command that did what was asked. */
    public static final int EXIT_OK = 0;
    /** The exit status of a command that failed: unreachable database or consumer, unknown id, failed check. */
    public static final int EXIT_FAILED = 1;
    /** The exit status of bad arguments. */
    public static final int EXIT_USAGE = 2;
    /** The consumer endpoint {@code duplicate} delivers to when {@code CONSUMER_URL} is unset. */
    public static final String DEFAULT_CONSUMER_URL = "http://localhost:8081/messages";

    private ReplayCli() {
    }

    /**
     * Runs one command with the process environment and exits with its status. Stopped (Ctrl-C,
     * SIGTERM), it cancels the command's statement running in the database (a command still opening
     * the database does not begin its work), and the command prints what it had done before it
     * exits, with the signal's status (130, 143).
     */
    public static void main(String[] args) {
        Shutdown shutdown = new Shutdown();
        Runtime.getRuntime().addShutdownHook(new Thread(shutdown::stop, "replay-cli-stop"));
        int status = commandLine(Env.system(), utf8(System.out), utf8(System.err), shutdown).execute(args);
        shutdown.finished();
        System.exit(status);
    }

    /**
     * Not the locale's charset: without a locale (LANG=C in a container, a cron job, an ssh session)
     * it is US-ASCII, which prints every other character of a payload as '?'. JSON lines are UTF-8 by
     * their standard, and a terminal reached without a locale set most often reads UTF-8.
     */
    private static PrintWriter utf8(PrintStream stream) {
        return new PrintWriter(new OutputStreamWriter(stream, StandardCharsets.UTF_8), true);
    }

    /**
     * The command line, configured by {@code env} and printing to {@code out} and {@code err};
     * {@link CommandLine#execute} runs one command and returns its exit status. Each call builds
     * a new, independent command line; one instance is not for concurrent use.
     */
    public static CommandLine commandLine(Env env, PrintWriter out, PrintWriter err) {
        return commandLine(env, out, err, new Shutdown());
    }

    /** As {@link #commandLine(Env, PrintWriter, PrintWriter)}, whose work {@code shutdown} cancels when it stops. */
    static CommandLine commandLine(Env env, PrintWriter out, PrintWriter err, Shutdown shutdown) {
        CommandLine cli = new CommandLine(new Root());
        cli.addSubcommand(new DuplicateCommand(env));
        cli.addSubcommand(new ListCommand(env));
        cli.addSubcommand(new RequeueCommand(env, shutdown));
        ErrorReporter errors = new ErrorReporter();
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        // No @file arguments: "--id @/etc/shadow" must be a bad id, not the file's lines read as arguments.
        cli.setExpandAtFiles(false);
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler(errors);
        cli.setExecutionExceptionHandler(errors);
        return cli;
    }

    /** The top command: only dispatches to a subcommand. */
    @Command(name = "replay-cli", mixinStandardHelpOptions = true, version = "replay-cli 0.1.0",
            description = "Inspect and requeue outbox messages; show that the consumer skips duplicates.",
            footer = {"", "Environment: DB_URL, DB_USER, DB_PASSWORD (default: the dev database on localhost:5433), "
                    + "CONSUMER_URL (default " + DEFAULT_CONSUMER_URL + "); for duplicate through a broker, SINK and its "
                    + "broker's variables, as the relay has them."})
    static final class Root implements Runnable {

        @Spec
        CommandSpec spec;

        @Override
        public void run() {
            throw new ParameterException(spec.commandLine(), "missing command: duplicate, list or requeue");
        }
    }
}
