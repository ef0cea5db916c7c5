package io.outboxkit.replay;

import io.outboxkit.app.Database;
import io.outboxkit.app.Env;
import io.outboxkit.app.SinceTime;
import io.outboxkit.core.OutboxAdmin;
import java.io.PrintWriter;
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
 * keep their ids, so a consumer that already processed one skips it.
 */
@Command(name = "requeue", mixinStandardHelpOptions = true,
        description = "Put messages back for redelivery (PENDING, attempts reset, due now).")
final class RequeueCommand implements Callable<Integer> {

    private final Env env;

    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOptions database;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Selection selection;

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

    RequeueCommand(Env env) {
        this.env = env;
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (Database db = database.open(env)) {
            OutboxAdmin admin = OutboxAdmin.create(db.jdbi(), database.names());
            String in = " in " + database.names().qualifiedOutboxTable();
            if (selection.id != null) {
                if (!admin.requeue(selection.id)) {
                    throw new CliFailure("no message with id " + selection.id + " in the outbox");
                }
                out.println("requeued 1 message" + in + ": " + selection.id);
            } else if (selection.dead) {
                out.println("requeued " + plural(admin.requeueDead(), "DEAD message") + in);
            } else {
                Instant since = since(admin);
                out.println("requeued " + plural(admin.requeueSince(since), "message") + in + " written since " + since);
            }
        }
        out.flush();
        return ReplayCli.EXIT_OK;
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
