package io.outboxkit.replay;

import io.outboxkit.app.Database;
import io.outboxkit.app.Env;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxEntry;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.spi.Causes;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code list}: the oldest messages in one status, as a table (without their payloads, which it
 * does not show) or as JSON lines (read a page at a time, so memory does not grow with --limit).
 * Where it stopped at --limit with more to show, it says so (on stderr for JSON, whose stdout
 * holds only messages) and which {@code --after} continues.
 */
@Command(name = "list", mixinStandardHelpOptions = true,
        description = "Show the oldest outbox messages in one status.")
final class ListCommand implements Callable<Integer> {

    /** The default of {@code --limit}. */
    static final int DEFAULT_LIMIT = 20;

    private final Env env;

    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOptions database;

    @Option(names = "--status", required = true, paramLabel = "STATUS",
            description = "pending, published or dead")
    MessageStatus status;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "" + DEFAULT_LIMIT,
            description = "at most this many messages, 1 to " + OutboxAdmin.MAX_LIST + " (default: ${DEFAULT-VALUE})")
    int limit;

    @Option(names = "--after", paramLabel = "SEQ", defaultValue = "0",
            description = "only messages written after the one with this SEQ: where a listing cut at --limit said "
                    + "to continue (default: from the first)")
    long after;

    @Option(names = "--json", description = "print one JSON object per line instead of a table")
    boolean json;

    ListCommand(Env env) {
        this.env = env;
    }

    @Override
    public Integer call() {
        if (limit < 1 || limit > OutboxAdmin.MAX_LIST) {
            throw new ParameterException(spec.commandLine(),
                    "--limit must be from 1 to " + OutboxAdmin.MAX_LIST + ", was " + limit);
        }
        if (after < 0) {
            throw new ParameterException(spec.commandLine(), "--after must be a SEQ, 0 or more, was " + after);
        }
        PrintWriter out = spec.commandLine().getOut();
        List<OutboxEntry> entries = new ArrayList<>();
        int[] printed = {0};
        OptionalLong next;
        OutboxNames names = database.names();
        try (Database db = database.open(env)) {
            OutboxAdmin admin = OutboxAdmin.create(db.jdbi(), names);
            next = json
                    ? admin.list(status, after, limit, true, entry -> {
                        out.println(EntryJson.line(entry));
                        printed[0]++;
                    })
                    : admin.list(status, after, limit, false, entries::add);
        } catch (OutOfMemoryError | OutboxException e) {
            // The driver reports running out while it reads a result as an SQLException caused by the error.
            if (e instanceof OutboxException && Causes.find(e, OutOfMemoryError.class).isEmpty()) {
                throw e;
            }
            entries.clear();
            throw new CliFailure("out of memory after " + plural(printed[0]) + ": the payloads read at once ("
                    + OutboxAdmin.LIST_PAGE_WITH_PAYLOADS + ", or --limit when lower) are more than this JVM's heap "
                    + "holds; lower --limit (and continue with --after), or give java a larger -Xmx");
        }
        if (json) {
            out.flush();
            next.ifPresent(seq -> {
                PrintWriter err = spec.commandLine().getErr();
                err.println(spec.qualifiedName() + ": stopped at --limit " + limit + " after " + plural(printed[0])
                        + "; more exist: continue with --after " + seq);
                err.flush();
            });
        } else {
            out.print(EntryTable.render(entries));
            out.println(summary(entries.size(), names, next));
            out.flush();
        }
        return ReplayCli.EXIT_OK;
    }

    private String summary(int count, OutboxNames names, OptionalLong next) {
        String line = plural(count) + (after > 0 ? " after SEQ " + after : "") + " in " + names.qualifiedOutboxTable();
        return next.isEmpty() ? line
                : line + (after > 0 ? " (the next " : " (the oldest ") + limit + "; more exist: continue with --after " + next.getAsLong()
                        + ", or raise --limit)";
    }

    private String plural(int count) {
        return count + " " + status + " message" + (count == 1 ? "" : "s");
    }
}
