package io.outboxkit.relay.console;

import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.outboxkit.app.SinceTime;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxMonitor;
import java.time.Instant;
import java.util.Map;

/**
 * The bulk requeues of {@code replay-cli requeue}, each reviewed before it runs: {@code GET
 * /requeue/dead} shows how many DEAD messages there are and asks; {@code POST /requeue/dead} does
 * it. {@code GET /requeue/since?since=15m} states the exact time and asks; {@code POST
 * /requeue/since} does it. Both then go to {@code /?requeued=N}.
 */
final class RequeuePages {

    private final OutboxAdmin admin;
    private final OutboxMonitor monitor;
    private final Layout layout;

    RequeuePages(OutboxAdmin admin, OutboxMonitor monitor, Layout layout) {
        this.admin = admin;
        this.monitor = monitor;
        this.layout = layout;
    }

    /** {@code GET /requeue/dead}: the confirmation, with the count. */
    void reviewDead(Context ctx) {
        noParameters(ctx);
        long dead = monitor.snapshot().dead();
        Html main = new Html().raw("<section class=\"panel confirm\"><h1>Requeue dead messages</h1>");
        if (dead == 0) {
            main.raw("<p data-field=\"confirm\">There is no DEAD message to requeue.</p><p><a href=\"/\">Back</a></p>");
        } else {
            main.raw("<p data-field=\"confirm\">Requeue <strong>").text(dead).raw(dead == 1 ? " DEAD message" : " DEAD messages")
                    .raw("</strong>? Each becomes PENDING with its attempts reset and is delivered again at once; a consumer ")
                    .raw("that already processed one skips it as a duplicate.</p><div class=\"actions\">")
                    .add(layout.postForm("/requeue/dead", "Requeue " + dead, "primary danger", Map.of()))
                    .raw("<a href=\"/?status=dead\">Cancel</a></div>");
        }
        Pages.html(ctx, layout.page("Requeue dead messages", main.raw("</section>")));
    }

    /** {@code POST /requeue/dead}. */
    void requeueDead(Context ctx) {
        ctx.redirect("/?requeued=" + admin.requeueDead(), HttpStatus.SEE_OTHER);
    }

    /** {@code GET /requeue/since?since=...}: the confirmation, with the time resolved. */
    void reviewSince(Context ctx) {
        if (ctx.queryParamMap().keySet().stream().anyMatch(name -> !name.equals("since"))) {
            throw ConsoleError.badRequest("/requeue/since takes only the parameter since");
        }
        Instant since = since(Params.single(ctx.queryParamMap(), "since"), admin.databaseTime());
        Html main = new Html().raw("<section class=\"panel confirm\"><h1>Requeue messages written since a time</h1>")
                .raw("<p data-field=\"confirm\">Requeue every message written at or after <strong>")
                .text(Durations.instant(since)).raw("</strong>, whatever its status? Published ones are delivered ")
                .raw("again (a consumer that processed one skips it); pending and dead ones are due at once.</p>")
                .raw("<div class=\"actions\">")
                .add(layout.postForm("/requeue/since", "Requeue", "primary danger", Map.of("since", since.toString())))
                .raw("<a href=\"/\">Cancel</a></div></section>");
        Pages.html(ctx, layout.page("Requeue since", main));
    }

    /** {@code POST /requeue/since}: the form's exact instant. */
    void requeueSince(Context ctx) {
        Instant since = since(ctx.formParam("since"), admin.databaseTime());
        ctx.redirect("/?requeued=" + admin.requeueSince(since), HttpStatus.SEE_OTHER);
    }

    /**
     * A time as {@link SinceTime} reads it: an ISO-8601 time, or a span before {@code now} such as
     * 15m, 2h, 1d; {@code now} is the database's, whose clock stamps created_at, not the relay's.
     */
    static Instant since(String value, Instant now) {
        if (value == null || value.isBlank()) {
            throw ConsoleError.badRequest("give since: a span ago (15m, 2h, 1d) or a time (2026-11-26T10:00:00Z)");
        }
        try {
            return SinceTime.parse(value).at(now);
        } catch (IllegalArgumentException e) {
            throw ConsoleError.badRequest("since: " + e.getMessage());
        }
    }

    private static void noParameters(Context ctx) {
        if (!ctx.queryParamMap().isEmpty()) {
            throw ConsoleError.badRequest("this page takes no parameters");
        }
    }
}
