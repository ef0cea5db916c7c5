package io.outboxkit.replay;

import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxEntry;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.Texts;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * Renders outbox entries as a plain-text table, one message per line, columns aligned. Stored
 * text is shown safely: white space flattened, control and format characters escaped.
 */
final class EntryTable {

    static final int MAX_ERROR = 60;
    static final int MAX_AGGREGATE = 50;
    private static final List<String> HEADER = List.of(
            "ID", "SEQ", "AGGREGATE", "EVENT", "ATTEMPTS", "STATUS", "AVAILABLE/PUBLISHED", "LAST ERROR");

    private EntryTable() {
    }

    /** The table with a header line, each line ending in a newline; empty text for no entries. */
    static String render(List<OutboxEntry> entries) {
        if (entries.isEmpty()) {
            return "";
        }
        List<List<String>> rows = new ArrayList<>();
        rows.add(HEADER);
        entries.forEach(entry -> rows.add(row(entry)));
        int[] widths = new int[HEADER.size()];
        for (List<String> row : rows) {
            for (int i = 0; i < row.size(); i++) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        StringBuilder text = new StringBuilder();
        for (List<String> row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.size(); i++) {
                line.append(i == row.size() - 1 ? row.get(i) : pad(row.get(i), widths[i] + 2));
            }
            text.append(line.toString().stripTrailing()).append('\n');
        }
        return text.toString();
    }

    private static List<String> row(OutboxEntry entry) {
        OutboxMessage m = entry.message();
        Instant when = entry.status() == MessageStatus.PUBLISHED ? entry.publishedAt() : entry.availableAt();
        return List.of(m.id().toString(), Long.toString(m.sequence()),
                truncate(m.aggregateType() + "/" + m.aggregateId(), MAX_AGGREGATE), truncate(m.eventType(), Integer.MAX_VALUE),
                Integer.toString(m.attempts()), entry.status().name(),
                when == null ? "-" : when.truncatedTo(ChronoUnit.SECONDS).toString(),
                entry.lastError() == null ? "" : truncate(entry.lastError(), MAX_ERROR));
    }

    /** {@code text} on one line, safe for a terminal (see {@link ErrorReporter#printable}), at most {@code max} long. */
    static String truncate(String text, int max) {
        String flat = ErrorReporter.printable(text.replaceAll("\\s+", " ").trim());
        return flat.length() <= max ? flat : Texts.abbreviate(flat, max - Texts.CUT_MARK.length());
    }

    private static String pad(String text, int width) {
        return text + " ".repeat(Math.max(0, width - text.length()));
    }
}
