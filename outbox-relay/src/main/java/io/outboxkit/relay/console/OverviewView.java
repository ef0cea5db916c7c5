package io.outboxkit.relay.console;

import io.outboxkit.core.LeaseHolder;
import io.outboxkit.core.OutboxSnapshot;
import io.outboxkit.core.PollerStats;

/** The overview fragment: counts by status, the oldest pending message, the lease holders, this relay's counters. */
final class OverviewView {

    private OverviewView() {
    }

    /** The fragment for {@code overview}; it asks for itself again every {@code refresh} seconds. */
    static Html render(Overview overview, PollerStats stats, int refresh) {
        OutboxSnapshot counts = overview.figures();
        Html html = open(refresh).raw("<div class=\"cards\">")
                .add(card("pending", "Pending", counts.pending(), "/?status=pending", false))
                .add(card("dead", "Dead", counts.dead(), "/?status=dead", counts.dead() > 0))
                .add(card("published", "Published (about)", counts.publishedEstimate(), "/?status=published", false))
                .raw("<div class=\"card oldest\"><span class=\"label\">Oldest pending</span>");
        if (counts.oldestPendingId() != null) {
            html.raw("<a class=\"value\" data-field=\"oldest-age\"")
                    .attr("href", "/messages/" + counts.oldestPendingId())
                    .attr("title", "waiting since its write, " + Durations.span(counts.oldestPendingAge()) + " ago").raw(">")
                    .text(Durations.span(counts.oldestPendingAge())).raw("</a>");
        } else {
            html.raw("<span class=\"value none\" data-field=\"oldest-age\">none</span>");
        }
        html.raw("</div></div><div class=\"leases\"><span class=\"label\">Leases</span>");
        if (overview.leases().isEmpty()) {
            html.raw("<span class=\"none\" data-field=\"leases\">no poller holds a lease now</span>");
        } else {
            html.raw("<ul data-field=\"leases\">");
            for (LeaseHolder holder : overview.leases()) {
                html.raw("<li><span class=\"holder\">").text(holder.lockedBy()).raw("</span> ").text(holder.messages())
                        .text(holder.messages() == 1 ? " message" : " messages").raw(", lease until ")
                        .text(Durations.instant(holder.leaseEnd())).raw("</li>");
            }
            html.raw("</ul>");
        }
        html.raw("</div><p class=\"footnote\">As of ").text(Durations.instant(counts.takenAt()))
                .raw(". This relay since it started: ").text(stats.delivered()).raw(" delivered, ")
                .text(stats.failed()).raw(" failed attempts, ").text(stats.dead()).raw(" marked dead.");
        if (counts.dead() > 0) {
            html.raw(" <a class=\"action\" href=\"/requeue/dead\">Requeue all ").text(counts.dead())
                    .raw(" dead…</a>");
        }
        return html.raw("</p></section>");
    }

    /** The fragment when the database does not answer: the page stays, and says so until it answers again. */
    static Html unavailable(int refresh) {
        return open(refresh).raw("<p class=\"alert\" data-field=\"unavailable\">The database is not answering; ")
                .raw("the figures return when it does.</p></section>");
    }

    private static Html open(int refresh) {
        return new Html().raw("<section id=\"overview\" class=\"overview\" hx-swap=\"outerHTML\"")
                .attr("hx-get", "/console/overview" + (refresh == ListParams.DEFAULT_REFRESH ? "" : "?refresh=" + refresh))
                .attr("hx-trigger", "every " + refresh + "s").raw(">");
    }

    private static Html card(String kind, String label, long count, String href, boolean alert) {
        return new Html().raw("<a").attr("class", "card " + kind + (alert ? " alert" : "")).attr("href", href).raw(">")
                .raw("<span class=\"label\">").text(label).raw("</span><span class=\"value\"")
                .attr("data-count", kind).raw(">").text(count).raw("</span></a>");
    }
}
