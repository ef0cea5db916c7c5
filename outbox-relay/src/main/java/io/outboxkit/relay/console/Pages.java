package io.outboxkit.relay.console;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.outboxkit.app.Jsons;
import io.outboxkit.core.OutboxException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answering console requests: HTML for a browser, and a refusal as a page (or as
 * {@code {"error": ...}} for a client that does not ask for HTML, such as curl on /metrics).
 * A database failure is a 503 that says so, logged without the request's headers.
 */
final class Pages {

    private static final Logger LOG = LoggerFactory.getLogger(Pages.class);

    private final Layout layout;

    Pages(Layout layout) {
        this.layout = layout;
    }

    /** {@code handler}, with a database failure turned into a 503 page. */
    static Handler guarded(Handler handler) {
        return ctx -> {
            try {
                handler.handle(ctx);
            } catch (OutboxException e) {
                LOG.warn("{} {}: the database failed: {}", ctx.method(), ctx.path(), e.getMessage());
                throw new ConsoleError(503, "The database did not answer. Try again shortly.");
            }
        };
    }

    /** Answers 200 with {@code html}. */
    static void html(Context ctx, String html) {
        ctx.status(200).contentType("text/html; charset=utf-8").result(html);
    }

    /** Answers {@code error}: its page, the login form for a 401, or JSON for a client that wants no HTML. */
    void refuse(ConsoleError error, Context ctx, LoginView login) {
        ctx.status(error.status());
        if (!wantsHtml(ctx)) {
            try {
                ctx.contentType("application/json").result(Jsons.mapper().writeValueAsString(Map.of("error", error.getMessage())));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException("an error message did not serialize", e);
            }
            return;
        }
        String page = error.status() == 401 ? login.page(error.getMessage(), ctx) : layout.error(error.status(), error.getMessage());
        ctx.contentType("text/html; charset=utf-8").result(page);
    }

    /** Whether the client asks for HTML: a browser's navigation, or htmx. */
    static boolean wantsHtml(Context ctx) {
        String accept = ctx.header("Accept");
        return ctx.header("HX-Request") != null || (accept != null && accept.contains("text/html"));
    }
}
