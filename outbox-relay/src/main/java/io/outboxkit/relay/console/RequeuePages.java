package io.outboxkit.relay.console;

import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.outboxkit.app.SinceTime;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.RequeueException;
import java.time.Instant;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bulk requeues of {@code replay-cli requeue}, each reviewed before it runs: {@code GET
 * /requeue/dead} shows how many DEAD messages there are and asks; {@code POST /requeue/dead} does
 * it. {@code GET /requeue/since?since=15m} states the exact time and asks; {@code POST
 * /requeue/since} does it. Both then go to {@code /?requeued=N}. A requeue that stops after some
 * of its batches committed answers 503 saying how many it requeued, with a button that requeues
 * the rest (and none of those again).
 */
final class RequeuePages {

    private static final Logger LOG = LoggerFactory.getLogger(RequeuePages.class);

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
        int requeued;
        try {
            requeued = admin.requeueDead();
        } catch (RequeueException e) {
            // The rest are still DEAD: the same requeue again takes them and none of these.
            stopped(ctx, e, "/requeue/dead", Map.of());
            return;
        }
        ctx.redirect("/?requeued=" + requeued, HttpStatus.SEE_OTHER);
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

    /**
     * {@code POST /requeue/since}: the form's exact instant, and {@code after}, the write position
     * a stopped requeue of that instant reached (absent: from the start).
     */
    void requeueSince(Context ctx) {
        Instant since = since(ctx.formParam("since"), admin.databaseTime());
        long after = after(ctx.formParam("after"));
        int requeued;
        try {
            requeued = admin.requeueSince(since, after);
        } catch (RequeueException e) {
            stopped(ctx, e, "/requeue/since", Map.of("since", since.toString(), "after",
                    Long.toString(e.resumeAfter())));
            return;
        }
        ctx.redirect("/?requeued=" + requeued, HttpStatus.SEE_OTHER);
    }

    private static long after(String value) {
        if (value == null) {
            return 0;
        }
        try {
            long after = Long.parseLong(value);
            if (after >= 0) {
                return after;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw ConsoleError.badRequest("after must be a write position (a whole number, 0 or more), was " + value);
    }

    /**
     * A requeue that stopped partway: with nothing requeued, the console's usual 503 (see
     * {@link Pages#guarded}); else a 503 page (or JSON) saying how many were requeued, whose button
     * posts {@code hidden} to {@code action} to requeue the rest.
     */
    private void stopped(Context ctx, RequeueException e, String action, Map<String, String> hidden) {
        if (e.requeued() == 0) {
            throw e;
        }
        LOG.warn("{} {}: the requeue stopped after {} messages: {}", ctx.method(), ctx.path(), e.requeued(), e.getMessage());
        String told = "Requeued " + e.requeued() + (e.requeued() == 1 ? " message" : " messages")
                + ", then the database stopped the requeue (busy, or gone). None after them was requeued.";
        if (!Pages.wantsHtml(ctx)) {
            // The instant a span such as 1d resolved to, not the span: resolved again later it would skip messages.
            throw new ConsoleError(503, told + (hidden.containsKey("after")
                    ? " Post it again with since=" + hidden.get("since") + " and after=" + e.resumeAfter()
                    + " to requeue the rest."
                    : " Post it again to requeue the rest."));
        }
        Html main = new Html().raw("<section class=\"panel confirm\"><h1>Requeue stopped</h1>")
                .raw("<p data-field=\"stopped\">").text(told).raw("</p><div class=\"actions\">")
                .add(layout.postForm(action, "Requeue the rest", "primary danger", hidden))
                .raw("<a href=\"/\">Back to the console</a></div></section>");
        ctx.status(503).contentType("text/html; charset=utf-8").result(layout.page("Requeue stopped", main));
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
