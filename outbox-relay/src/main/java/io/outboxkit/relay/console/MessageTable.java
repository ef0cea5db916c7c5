package io.outboxkit.relay.console;

import io.outboxkit.core.MessagePage;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxEntry;
import io.outboxkit.core.OutboxMessage;
import java.util.Locale;

/** The message list fragment: a table of one page and the links to the next. */
final class MessageTable {

    private static final int ERROR_PREVIEW = 120;

    private MessageTable() {
    }

    /** The fragment for {@code page} under {@code params}; it asks for itself again every {@code params.refresh()} seconds. */
    static Html render(MessagePage page, ListParams params) {
        Html html = new Html().raw("<section id=\"messages\" class=\"messages\" hx-swap=\"outerHTML\"")
                .attr("hx-get", "/console/messages" + params.queryString())
                .attr("hx-trigger", "every " + params.refresh() + "s").raw(">");
        if (page.entries().isEmpty()) {
            html.raw("<p class=\"empty\">").text(page.next().isPresent()
                    ? "No match among the " + page.examined() + " messages examined on this page; older ones may match."
                    : params.filtered() ? "No message matches these filters." : "The outbox is empty.").raw("</p>");
        } else {
            html.raw("<div class=\"table-wrap\"><table><thead><tr><th class=\"num\">Seq</th><th>Id</th><th>Status</th>")
                    .raw("<th>Aggregate</th><th>Event</th><th class=\"num\">Attempts</th><th class=\"wide\">Written</th>")
                    .raw("<th>Last error</th></tr></thead><tbody>");
            for (OutboxEntry entry : page.entries()) {
                html.add(row(entry));
            }
            html.raw("</tbody></table></div>");
        }
        html.raw("<nav class=\"pager\">");
        if (params.after() != null) {
            html.raw("<a").attr("href", "/" + params.after(null).queryString()).raw(">")
                    .text(params.newest() ? "« Newest" : "« Oldest").raw("</a>");
        }
        if (page.next().isPresent()) {
            html.raw("<a rel=\"next\"").attr("href", "/" + params.after(page.next().getAsLong()).queryString()).raw(">")
                    .text(params.newest() ? "Older »" : "Newer »").raw("</a>");
            if (page.entries().size() < params.size()) {
                html.raw("<span class=\"footnote\">").text("A page examines at most " + page.examined()
                        + " messages; continue for more.").raw("</span>");
            }
        }
        return html.raw("</nav></section>");
    }

    private static Html row(OutboxEntry entry) {
        OutboxMessage message = entry.message();
        String error = entry.lastError() == null ? "" : entry.lastError();
        if (error.length() > ERROR_PREVIEW) {
            error = error.substring(0, ERROR_PREVIEW) + "…";
        }
        return new Html().raw("<tr").attr("data-id", message.id()).attr("data-status", entry.status()).raw(">")
                .raw("<td class=\"num\">").text(message.sequence()).raw("</td>")
                .raw("<td class=\"id\"><a").attr("href", "/messages/" + message.id()).raw(">").text(message.id()).raw("</a></td>")
                .raw("<td>").add(badge(entry.status())).raw("</td>")
                .raw("<td class=\"aggregate\"><span class=\"type\">").text(message.aggregateType()).raw("</span> ")
                .raw("<span class=\"agg-id\">").text(message.aggregateId()).raw("</span></td>")
                .raw("<td>").text(message.eventType()).raw("</td>")
                .raw("<td class=\"num\">").text(message.attempts()).raw("</td>")
                .raw("<td class=\"wide\">").text(Durations.instant(message.createdAt())).raw("</td>")
                .raw("<td class=\"last-error\">").text(error).raw("</td></tr>");
    }

    /** A status as a coloured label. */
    static Html badge(MessageStatus status) {
        return new Html().raw("<span").attr("class", "badge " + status.name().toLowerCase(Locale.ROOT)).raw(">")
                .text(status).raw("</span>");
    }
}
