package io.outboxkit.relay.console;

import io.outboxkit.core.MessageStatus;
import java.util.Locale;

/** The filter form above the table: a GET to {@code /}, so the filtered list has an address to bookmark. */
final class FilterForm {

    private FilterForm() {
    }

    static Html render(ListParams params) {
        Html html = new Html().raw("<section class=\"panel filters\"><form method=\"get\" action=\"/\" class=\"filter-form\">")
                .raw("<label>Status <select name=\"status\"><option value=\"\">any</option>");
        for (MessageStatus status : MessageStatus.values()) {
            String value = status.name().toLowerCase(Locale.ROOT);
            html.raw("<option").attr("value", value).raw(status == params.status() ? " selected>" : ">").text(value)
                    .raw("</option>");
        }
        html.raw("</select></label>")
                .add(input("Aggregate type", "aggregate_type", params.aggregateType()))
                .add(input("Aggregate id", "aggregate_id", params.aggregateId()))
                .add(input("Event type", "event_type", params.eventType()))
                .raw("<label>Order <select name=\"order\"><option value=\"newest\"")
                .raw(params.newest() ? " selected" : "").raw(">newest first</option><option value=\"oldest\"")
                .raw(params.newest() ? "" : " selected").raw(">oldest first</option></select></label>");
        if (params.size() != ListParams.DEFAULT_SIZE) {
            html.raw("<input type=\"hidden\" name=\"size\"").attr("value", params.size()).raw(">");
        }
        if (params.refresh() != ListParams.DEFAULT_REFRESH) {
            html.raw("<input type=\"hidden\" name=\"refresh\"").attr("value", params.refresh()).raw(">");
        }
        return html.raw("<button type=\"submit\" class=\"primary\">Filter</button><a class=\"reset\" href=\"/\">Clear</a>")
                .raw("</form><details class=\"more\"><summary>Open a message by id, requeue by time…</summary>")
                .raw("<form method=\"get\" action=\"/messages\" class=\"goto\"><label>Message id ")
                .raw("<input name=\"id\" placeholder=\"uuid\" size=\"36\" maxlength=\"36\" spellcheck=\"false\"></label>")
                .raw("<button type=\"submit\">Open</button></form>")
                .raw("<form method=\"get\" action=\"/requeue/since\" class=\"goto\"><label>Requeue written since ")
                .raw("<input name=\"since\" placeholder=\"15m, 2h, 1d or 2026-11-26T10:00:00Z\" size=\"24\" maxlength=\"40\"></label>")
                .raw("<button type=\"submit\">Review…</button></form></details></section>");
    }

    private static Html input(String label, String name, String value) {
        return new Html().raw("<label>").text(label).raw(" <input").attr("name", name).attr("value", value)
                .attr("maxlength", io.outboxkit.core.MessageQuery.MAX_FILTER_LENGTH).raw(" spellcheck=\"false\"></label>");
    }
}
