package io.outboxkit.relay.console;

import io.javalin.http.Context;
import io.outboxkit.app.http.JsonApi;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.PollerStats;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The console's main page ({@code GET /}, every filter a query parameter) and the fragments and
 * data it refreshes itself with: {@code /console/overview}, {@code /console/messages},
 * {@code /console/rates}. Each refresh of a tab is one request for each of the three.
 */
final class ListPages {

    private final OutboxAdmin admin;
    private final Overview.Cache overview;
    private final Supplier<PollerStats> stats;
    private final RateSampler rates;
    private final Layout layout;

    ListPages(OutboxAdmin admin, Overview.Cache overview, Supplier<PollerStats> stats, RateSampler rates, Layout layout) {
        this.admin = admin;
        this.overview = overview;
        this.stats = stats;
        this.rates = rates;
        this.layout = layout;
    }

    /** {@code GET /}. */
    void page(Context ctx) {
        ListParams params = ListParams.from(ctx.queryParamMap(), Set.of("requeued"));
        Long requeued = Params.number(ctx.queryParamMap(), "requeued", 0, Integer.MAX_VALUE);
        Html main = new Html();
        if (requeued != null) {
            main.raw("<p class=\"notice\" data-field=\"notice\">").text("Requeued " + requeued
                    + (requeued == 1 ? " message." : " messages.")).raw("</p>");
        }
        Html chart = new Html()
                .raw("<section class=\"panel chart\"><h2>Delivered and failed per second, last 10 minutes (this relay)</h2>")
                .raw("<div id=\"rates\" class=\"rates\"").attr("data-src", "/console/rates")
                .attr("data-refresh", params.refresh()).raw("></div></section>");
        Html list = FilterForm.render(params).add(MessageTable.render(admin.page(params.query()), params));
        main.add(overviewFragment(params.refresh()));
        // A filtered list (/?status=dead) is what its address was opened for: its table comes before the chart.
        if (params.filtered()) {
            main.add(list).add(chart);
        } else {
            main.add(chart).add(list);
        }
        Pages.html(ctx, layout.page(params.status() == null ? "Messages" : params.status() + " messages", main));
    }

    /** {@code GET /console/overview}: the counts, oldest due message and leases. */
    void overview(Context ctx) {
        int refresh = ListParams.from(ctx.queryParamMap(), Set.of()).refresh();
        Pages.html(ctx, overviewFragment(refresh).toString());
    }

    /** {@code GET /console/messages}: the table, with the same parameters as the page. */
    void messages(Context ctx) {
        ListParams params = ListParams.from(ctx.queryParamMap(), Set.of());
        Pages.html(ctx, MessageTable.render(admin.page(params.query()), params).toString());
    }

    /** {@code GET /console/rates}: {@code {"interval_seconds":1,"t":[...],"delivered":[...],"failed":[...]}}, oldest first. */
    void rates(Context ctx) {
        RateSampler.Series series = rates.series();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("interval_seconds", 1);
        body.put("t", series.epochSeconds());
        body.put("delivered", series.delivered());
        body.put("failed", series.failed());
        JsonApi.respond(ctx, 200, body);
    }

    private Html overviewFragment(int refresh) {
        try {
            return OverviewView.render(overview.get(), stats.get(), refresh);
        } catch (OutboxException e) {
            return OverviewView.unavailable(refresh);
        }
    }
}
