package io.outboxkit.replay;

import io.outboxkit.app.Database;
import io.outboxkit.app.Env;
import io.outboxkit.app.SinceTime;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.RequeueException;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code requeue}: puts messages back to PENDING with their attempts reset, for redelivery. They
 * keep their ids, so a consumer that already processed one skips it. A large requeue commits batch
 * by batch ({@link OutboxAdmin#requeueDead}); one that fails or is stopped (Ctrl-C, SIGTERM: its
 * running batch is cancelled in the database) says in one line how many it requeued and which
 * command requeues the rest.
 */
@Command(name = "requeue", mixinStandardHelpOptions = true,
        description = "Put messages back for redelivery (PENDING, attempts reset, due now).")
final class RequeueCommand implements Callable<Integer> {

    /** How long a stopped requeue waits for its running batch to be cancelled in the database. */
    private static final Duration CANCEL_WAIT = Duration.ofSeconds(3);

    private final Env env;

    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOptions database;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Selection selection;

    @Option(names = "--after", paramLabel = "SEQ", description = "with --since: only the messages after write "
            + "position SEQ, as a requeue that stopped says to requeue the rest")
    Long after;

    /** Which messages: exactly one of the three options. */
    static final class Selection {

        @Option(names = "--id", paramLabel = "ID", converter = UuidConverter.class,
                description = "the message with this id, whatever its status")
        UUID id;

        @Option(names = "--dead", description = "every DEAD message")
        boolean dead;

        @Option(names = "--since", paramLabel = "TIME", converter = SinceConverter.class,
                description = "every message written since TIME, whatever its status: an ISO-8601 time "
                        + "(2026-11-26T10:00:00Z) or a span ago (15m, 2h, 1d) on the database's clock")
        SinceTime since;
    }

    private final Shutdown shutdown;

    RequeueCommand(Env env, Shutdown shutdown) {
        this.env = env;
        this.shutdown = shutdown;
    }

    @Override
    public Integer call() {
        if (after != null && (selection.since == null || after < 0)) {
            throw new ParameterException(spec.commandLine(), selection.since == null ? "--after goes only with --since"
                    : "Invalid value for option '--after': a write position is 0 or more, was " + after);
        }
        PrintWriter out = spec.commandLine().getOut();
        Database db = database.open(env);
        try {
            OutboxAdmin admin = OutboxAdmin.create(db.jdbi(), database.names());
            Runnable cancel = () -> admin.cancelRequeues(CANCEL_WAIT);
            shutdown.cancelOnStop(cancel);
            try {
                if (shutdown.stopping()) {
                    throw new CliFailure("stopped before it began: nothing was requeued");
                }
                requeue(admin, out, " in " + database.names().qualifiedOutboxTable());
            } finally {
                shutdown.cancelled(cancel);
            }
        } finally {
            close(db);
        }
        out.flush();
        return ReplayCli.EXIT_OK;
    }

    /**
     * Closes the pool; in a stopping process, without waiting for it: on a silent database the
     * pool's close waits seconds for a connection it is opening, past the moment the stop lets this
     * command print what it requeued, and the exiting JVM ends the connections anyway.
     */
    private void close(Database db) {
        if (!shutdown.stopping()) {
            db.close();
            return;
        }
        Thread closing = new Thread(db::close, "replay-cli-close");
        closing.setDaemon(true);
        closing.start();
    }

    private void requeue(OutboxAdmin admin, PrintWriter out, String in) {
        if (selection.id != null) {
            boolean found;
            try {
                found = admin.requeue(selection.id);
            } catch (RequeueException e) {
                throw new CliFailure(e.getMessage());
            }
            if (!found) {
                throw new CliFailure("no message with id " + selection.id + " in the outbox");
            }
            out.println("requeued 1 message" + in + ": " + selection.id);
        } else if (selection.dead) {
            try {
                out.println("requeued " + plural(admin.requeueDead(), "DEAD message") + in);
            } catch (RequeueException e) {
                // Those requeued are no longer DEAD: the same command requeues only the rest.
                throw new CliFailure(e.getMessage() + "; " + again("--dead") + " again requeues those still DEAD");
            }
        } else {
            Instant since = since(admin);
            long from = after == null ? 0 : after;
            try {
                out.println("requeued " + plural(admin.requeueSince(since, from), "message") + in + " written since " + since);
            } catch (RequeueException e) {
                // The same --since would requeue those already requeued again: --after skips them.
                String rest = again("--since " + since + (e.resumeAfter() > 0 ? " --after " + e.resumeAfter() : ""));
                throw new CliFailure(e.getMessage() + "; " + rest + " requeues " + (e.requeued() == 0 ? "them"
                        : "the rest (without --after it would requeue the " + e.requeued() + " again, which "
                        + "consumers skip as duplicates)"));
            }
        }
    }

    /**
     * The requeue command with {@code selection} and the outbox and database options given to this
     * one, so that pasted it acts on the same outbox; one it cannot repeat safely (a password in
     * {@code --db-url}) it asks for in words.
     */
    private String again(String selection) {
        return database.arguments(env).map(options -> "'requeue " + selection + options + "'")
                .orElseGet(() -> "'requeue " + selection + "' with the same database and outbox options");
    }

    /** {@code --since} on the database's clock, which stamped the messages' created_at. */
    private Instant since(OutboxAdmin admin) {
        try {
            return selection.since.at(admin.databaseTime());
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--since': " + e.getMessage());
        }
    }

    private static String plural(int count, String noun) {
        return count + " " + noun + (count == 1 ? "" : "s");
    }
}
