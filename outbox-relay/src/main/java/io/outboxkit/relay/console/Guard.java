package io.outboxkit.relay.console;

import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.outboxkit.app.http.Health;

/**
 * Runs before every request of the admin port, console or not ({@code /health} and
 * {@code /metrics} too): sets the security headers, then refuses what the console must not serve.
 *
 * <ol>
 *   <li>Without a token: a request addressed to a name that is not loopback (DNS rebinding).</li>
 *   <li>With a token: a request without it, except {@code /login} (the form, and the POST that
 *       logs in: any method), the static files its page loads ({@code /assets/*},
 *       {@code /webjars/*}: any method), and a GET or HEAD of {@code /health/live}: a liveness
 *       probe (a kubelet's) then needs no token in its
 *       configuration, where it would be stored in clear, and the answer tells nothing but up or
 *       down (no name, no figure, no database call).</li>
 *   <li>A POST that does not come from a page of this server (Origin, Sec-Fetch-Site), or
 *       without a form token this process issued.</li>
 * </ol>
 */
final class Guard {

    /**
     * No script but the relay's own files (no inline script, no eval), styles likewise, no
     * framing, forms and requests only to this server.
     */
    static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; "
            + "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private final TokenGate gate;
    private final FormTokens forms;

    Guard(TokenGate gate, FormTokens forms) {
        this.gate = gate;
        this.forms = forms;
    }

    /** The before-handler. */
    void check(Context ctx) {
        securityHeaders(ctx);
        if (!isPublic(ctx.path())) {
            ctx.header("Cache-Control", "no-store");
        }
        if (!gate.required() && !RequestOrigin.addressesLoopback(ctx)) {
            throw new ConsoleError(403, "This admin port answers only requests addressed to localhost or 127.0.0.1. "
                    + "To reach it by another name, set ADMIN_TOKEN.");
        }
        if (!gate.admits(ctx) && !isPublic(ctx.path()) && !isLivenessProbe(ctx)) {
            ctx.header("WWW-Authenticate", "Bearer");
            throw new ConsoleError(401, "This admin port needs its token (ADMIN_TOKEN): log in below, or send it "
                    + "in an Authorization: Bearer header.");
        }
        if (ctx.method() == HandlerType.POST) {
            if (!RequestOrigin.isSameOrigin(ctx)) {
                throw new ConsoleError(403, "Refused: a change must come from a page of this console "
                        + "(the request's Origin is another site, or missing).");
            }
            if (!forms.valid(ctx.formParam(FormTokens.FIELD))) {
                throw new ConsoleError(403, "Refused: this form has expired or was not issued by this relay "
                        + "(it restarted, say). Reload the page and try again.");
            }
        }
    }

    /** Headers every answer carries, the admin port's JSON included. */
    static void securityHeaders(Context ctx) {
        ctx.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("X-Frame-Options", "DENY");
        ctx.header("Referrer-Policy", "same-origin");
    }

    /** A GET or HEAD of {@code /health/live}: what a probe sends; any other method needs the token as elsewhere. */
    private static boolean isLivenessProbe(Context ctx) {
        return ctx.path().equals(Health.LIVE) && (ctx.method() == HandlerType.GET || ctx.method() == HandlerType.HEAD);
    }

    /** The login form and the static files its page loads: nothing in them depends on the outbox. */
    private static boolean isPublic(String path) {
        return path.equals("/login") || path.startsWith("/assets/") || path.startsWith("/webjars/");
    }
}
