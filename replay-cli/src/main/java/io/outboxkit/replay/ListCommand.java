package io.outboxkit.replay;

import io.outboxkit.app.Database;
import io.outboxkit.app.Env;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxEntry;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code list}: the oldest messages in one status, as a table or as JSON lines. */
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
        List<OutboxEntry> entries;
        try (Database db = database.open(env)) {
            entries = OutboxAdmin.create(db.jdbi()).list(status, limit);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            entries.forEach(entry -> out.println(EntryJson.line(entry)));
        } else {
            out.print(EntryTable.render(entries));
            out.println(summary(entries.size()));
        }
        out.flush();
        return ReplayCli.EXIT_OK;
    }

    private String summary(int count) {
        String line = count + " " + status + " message" + (count == 1 ? "" : "s");
        return count == limit ? line + " (the oldest " + limit + "; more may exist: raise --limit)" : line;
    }
}
