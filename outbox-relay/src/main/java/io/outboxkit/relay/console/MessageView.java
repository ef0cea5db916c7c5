package io.outboxkit.relay.console;

import io.outboxkit.app.MessageEnvelope;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxEntry;
import io.outboxkit.core.OutboxMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * One message: its state (which refreshes itself), then what never changes: payload, headers and
 * the envelope the relay sends.
 */
final class MessageView {

    private MessageView() {
    }

    /** The page's main content. */
    static Html render(OutboxEntry entry, Layout layout, int refresh) {
        OutboxMessage message = entry.message();
        Html html = new Html().raw("<section class=\"panel message\"><p class=\"crumbs\"><a href=\"/\">Messages</a> › ")
                .raw("<a").attr("href", "/?aggregate_type=" + urlEncode(message.aggregateType()) + "&aggregate_id="
                        + urlEncode(message.aggregateId())).raw(">").text(message.aggregateType()).raw(" ")
                .text(message.aggregateId()).raw("</a></p><h1>").text(message.eventType())
                .raw(" <span class=\"id\">").text(message.id()).raw("</span></h1>")
                .add(state(entry, layout, refresh))
                .raw("<h2>Payload</h2><pre class=\"json\" data-field=\"payload\">").text(JsonText.pretty(message.payload()))
                .raw("</pre><h2>Headers</h2>").add(headers(message.headers()))
                .raw("<h2>Envelope</h2><p class=\"footnote\">What the relay sends the consumer (attempts: this attempt's number).</p>")
                .raw("<pre class=\"json\" data-field=\"envelope\">");
        try {
            html.text(JsonText.pretty(new String(MessageEnvelope.toBytes(message), StandardCharsets.UTF_8)));
        } catch (IOException e) {
            // written into memory: not expected, and then this message's page still shows the rest
            html.text("(the envelope cannot be shown: " + e.getMessage() + ")");
        }
        return html.raw("</pre></section>");
    }

    /** The part that changes: status, attempts, times, lease, last error, and the requeue button. */
    static Html state(OutboxEntry entry, Layout layout, int refresh) {
        OutboxMessage message = entry.message();
        Html html = new Html().raw("<div id=\"message-state\" hx-swap=\"outerHTML\"")
                .attr("hx-get", "/console/messages/" + message.id()
                        + (refresh == ListParams.DEFAULT_REFRESH ? "" : "?refresh=" + refresh))
                .attr("hx-trigger", "every " + refresh + "s").raw("><div class=\"status-line\">")
                .add(MessageTable.badge(entry.status()));
        html.add(layout.postForm("/messages/" + message.id() + "/requeue",
                entry.status() == MessageStatus.PUBLISHED ? "Deliver again" : "Requeue", "primary", Map.of()));
        html.raw("<span class=\"footnote\">").text(requeueNote(entry.status())).raw("</span></div><dl class=\"facts\">")
                .add(fact("Id", message.id())).add(fact("Sequence", message.sequence()))
                .add(fact("Aggregate", message.aggregateType() + " " + message.aggregateId()))
                .add(fact("Event type", message.eventType())).add(fact("Status", entry.status()))
                .add(fact("Attempts", message.attempts()))
                .add(fact("Written", Durations.instant(message.createdAt())))
                .add(fact("Due", Durations.instant(entry.availableAt())))
                .add(fact("Published", Durations.instant(entry.publishedAt())))
                .add(fact("Lease", entry.lockedBy() == null ? "" : entry.lockedBy() + " until "
                        + Durations.instant(entry.lockedUntil())))
                .raw("</dl><h2>Last error</h2>");
        if (entry.lastError() == null) {
            html.raw("<p class=\"none\" data-field=\"last-error\">none</p>");
        } else {
            html.raw("<pre class=\"last-error\" data-field=\"last-error\">").text(entry.lastError()).raw("</pre>");
        }
        return html.raw("</div>");
    }

    private static String requeueNote(MessageStatus status) {
        return switch (status) {
            case DEAD -> "Requeue: PENDING again, attempts reset, delivered at once.";
            case PENDING -> "Requeue: attempts reset, due at once.";
            case PUBLISHED -> "Deliver again: PENDING again; a consumer that processed it skips it as a duplicate.";
        };
    }

    private static Html fact(String name, Object value) {
        return new Html().raw("<dt>").text(name).raw("</dt><dd").attr("data-fact", name.toLowerCase(java.util.Locale.ROOT))
                .raw(">").text(value).raw("</dd>");
    }

    private static Html headers(Map<String, String> headers) {
        if (headers.isEmpty()) {
            return new Html().raw("<p class=\"none\" data-field=\"headers\">none</p>");
        }
        Html html = new Html().raw("<div class=\"table-wrap\"><table class=\"headers\" data-field=\"headers\"><tbody>");
        new TreeMap<>(headers).forEach((name, value) ->
                html.raw("<tr><th>").text(name).raw("</th><td>").text(value).raw("</td></tr>"));
        return html.raw("</tbody></table></div>");
    }

    private static String urlEncode(String value) {
        return java.net.URLEncoder.encode(value, java.nio.charset.StandardCharsets.UTF_8);
    }
}
