package io.outboxkit.relay.console;

import io.javalin.http.Context;
import io.javalin.http.Cookie;
import io.javalin.http.HttpStatus;
import io.javalin.http.SameSite;

/**
 * The login form of an admin port with a token: {@code GET /login}, {@code POST /login} (the token
 * in the form's body, never in a URL; right, it sets the HTTP-only, same-site session cookie and
 * goes back where the operator was), {@code POST /logout}.
 */
final class LoginView {

    private static final int MAX_NEXT = 500;

    private final Layout layout;
    private final TokenGate gate;
    private final FormTokens forms;

    LoginView(Layout layout, TokenGate gate, FormTokens forms) {
        this.layout = layout;
        this.gate = gate;
        this.forms = forms;
    }

    /** The login page, saying {@code message}; it returns to the page {@code ctx} asked for. */
    String page(String message, Context ctx) {
        String next = !ctx.path().equals("/login") ? ctx.path() + (ctx.queryString() == null ? "" : "?" + ctx.queryString())
                : ctx.method() == io.javalin.http.HandlerType.POST ? ctx.formParam("next") : "/";
        Html main = new Html().raw("<section class=\"panel login\"><h1>Log in</h1><p>").text(message).raw("</p>")
                .raw("<form method=\"post\" action=\"/login\">")
                .raw("<input type=\"hidden\"").attr("name", FormTokens.FIELD).attr("value", forms.issue()).raw(">")
                .raw("<input type=\"hidden\" name=\"next\"").attr("value", safeNext(next)).raw(">")
                .raw("<label>Admin token <input type=\"password\" name=\"token\" autocomplete=\"current-password\" required autofocus></label>")
                .raw("<button type=\"submit\" class=\"primary\">Log in</button></form></section>");
        return layout.page("Log in", main);
    }

    /** {@code GET /login}. */
    void show(Context ctx) {
        if (!gate.required()) {
            ctx.redirect("/", HttpStatus.SEE_OTHER);
            return;
        }
        Pages.html(ctx, page("Give the admin token (ADMIN_TOKEN) to use this console.", ctx));
    }

    /** {@code POST /login}. */
    void logIn(Context ctx) {
        if (!gate.required()) {
            ctx.redirect("/", HttpStatus.SEE_OTHER);
            return;
        }
        if (!gate.matches(ctx.formParam("token"))) {
            throw new ConsoleError(401, "That is not the admin token.");
        }
        ctx.cookie(new Cookie(TokenGate.COOKIE, gate.session(), "/", -1, false, true, null, SameSite.STRICT));
        ctx.redirect(safeNext(ctx.formParam("next")), HttpStatus.SEE_OTHER);
    }

    /** {@code POST /logout}. */
    void logOut(Context ctx) {
        ctx.cookie(new Cookie(TokenGate.COOKIE, "", "/", 0, false, true, null, SameSite.STRICT));
        ctx.redirect("/login", HttpStatus.SEE_OTHER);
    }

    /** {@code next} when it is a path of this server, else {@code /}: the form cannot send anyone elsewhere. */
    static String safeNext(String next) {
        if (next == null || next.length() > MAX_NEXT || !next.startsWith("/") || next.startsWith("//")
                || next.contains("\\") || next.chars().anyMatch(Character::isISOControl)) {
            return "/";
        }
        return next;
    }
}
