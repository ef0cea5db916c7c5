package io.outboxkit.relay.console;

import java.util.Map;

/**
 * The frame of every console page: head (the relay's own scripts and styles, htmx configured to
 * run no script it did not load), header with the relay's name and the status shortcuts, and the
 * forms that change something (POST with this page's anti-forgery token). Thread-safe.
 */
final class Layout {

    /**
     * htmx's settings: no inline indicator styles (the Content-Security-Policy allows only the
     * relay's own stylesheets), no eval, no script elements from swapped content, requests only to
     * this server, nothing kept in the history cache.
     */
    private static final String HTMX_CONFIG = "{\"includeIndicatorStyles\":false,\"allowEval\":false,"
            + "\"allowScriptTags\":false,\"selfRequestsOnly\":true,\"historyCacheSize\":0,\"refreshOnHistoryMiss\":true}";

    private final Assets assets;
    private final String relayName;
    private final boolean tokenRequired;
    private final FormTokens forms;

    Layout(Assets assets, String relayName, boolean tokenRequired, FormTokens forms) {
        this.assets = assets;
        this.relayName = relayName;
        this.tokenRequired = tokenRequired;
        this.forms = forms;
    }

    /** A whole page titled {@code title} around {@code main}. */
    String page(String title, Html main) {
        Html html = new Html().raw("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
                .raw("<meta name=\"htmx-config\"").attr("content", HTMX_CONFIG).raw(">")
                .raw("<title>").text(title).raw(" · outbox relay ").text(relayName).raw("</title>")
                .raw("<link rel=\"stylesheet\"").attr("href", assets.style()).raw(">")
                .raw("<link rel=\"stylesheet\"").attr("href", assets.uplotCss()).raw(">")
                .raw("<script defer").attr("src", assets.htmx()).raw("></script>")
                .raw("<script defer").attr("src", assets.uplot()).raw("></script>")
                .raw("<script defer").attr("src", assets.script()).raw("></script>")
                .raw("</head><body><header class=\"top\"><a class=\"brand\" href=\"/\">outbox relay</a>")
                .raw("<span class=\"relay\" title=\"this relay's name\">").text(relayName).raw("</span>")
                .raw("<nav><a href=\"/?status=pending\">Pending</a><a href=\"/?status=dead\">Dead</a>")
                .raw("<a href=\"/?status=published\">Published</a></nav>");
        if (tokenRequired) {
            html.add(postForm("/logout", "Log out", "link", Map.of()));
        }
        return html.raw("</header><main>").add(main).raw("</main></body></html>").toString();
    }

    /** A page that says what went wrong, with a way back. */
    String error(int status, String message) {
        Html main = new Html().raw("<section class=\"panel error-page\"><h1>").text(status).raw(" ")
                .text(reason(status)).raw("</h1><p class=\"error-message\">").text(message)
                .raw("</p><p><a href=\"/\">Back to the console</a></p></section>");
        return page(reason(status), main);
    }

    /** A POST form of one button, with this rendering's anti-forgery token and {@code hidden} fields. */
    Html postForm(String action, String label, String buttonClass, Map<String, String> hidden) {
        Html form = new Html().raw("<form method=\"post\" class=\"inline\"").attr("action", action).raw(">")
                .raw("<input type=\"hidden\"").attr("name", FormTokens.FIELD).attr("value", forms.issue()).raw(">");
        hidden.forEach((name, value) -> form.raw("<input type=\"hidden\"").attr("name", name).attr("value", value).raw(">"));
        return form.raw("<button type=\"submit\"").attr("class", buttonClass).raw(">").text(label).raw("</button></form>");
    }

    private static String reason(int status) {
        return switch (status) {
            case 400 -> "Bad request";
            case 401 -> "Token needed";
            case 403 -> "Refused";
            case 404 -> "Not found";
            case 405 -> "Method not allowed";
            case 413, 414, 431 -> "Request too large";
            case 503 -> "Database unavailable";
            default -> status >= 500 ? "Server error" : "Refused";
        };
    }
}
