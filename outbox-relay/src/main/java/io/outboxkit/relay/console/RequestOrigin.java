package io.outboxkit.relay.console;

import io.javalin.http.Context;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * Where a request comes from and whom it addresses: the checks against cross-site requests
 * (a POST must come from a page of this server) and against DNS rebinding (without a token, only
 * requests addressed to a loopback name are answered, so a site whose name an attacker points at
 * 127.0.0.1 cannot read the console through a visitor's browser). Stateless and thread-safe.
 */
final class RequestOrigin {

    private RequestOrigin() {
    }

    /** Whether the Host header names a loopback host: {@code localhost}, {@code *.localhost}, 127.x.x.x, [::1]. */
    static boolean addressesLoopback(Context ctx) {
        String host = hostName(ctx.header("Host"));
        if (host == null) {
            return false;
        }
        return host.equals("localhost") || host.endsWith(".localhost") || host.equals("[::1]")
                || host.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
    }

    /**
     * Whether a state-changing request comes from a page of this server: {@code Sec-Fetch-Site},
     * when the browser sends it, says same-origin, and {@code Origin} (or, without it, the
     * {@code Referer}) has the scheme http or https and the very host and port the request is
     * addressed to. A request with neither header is refused: every browser sends Origin on a POST.
     */
    static boolean isSameOrigin(Context ctx) {
        String fetchSite = ctx.header("Sec-Fetch-Site");
        if (fetchSite != null && !fetchSite.equals("same-origin")) {
            return false;
        }
        String host = ctx.header("Host");
        if (host == null) {
            return false;
        }
        String origin = ctx.header("Origin");
        String source = origin != null ? origin : ctx.header("Referer");
        if (source == null) {
            return false;
        }
        try {
            URI uri = new URI(source);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            return (scheme.equals("http") || scheme.equals("https")) && uri.getRawAuthority() != null
                    && uri.getRawAuthority().equalsIgnoreCase(host);
        } catch (URISyntaxException e) {
            return false;
        }
    }

    /** The host part of a Host header, lower case, without the port; null when absent. */
    private static String hostName(String header) {
        if (header == null || header.isEmpty()) {
            return null;
        }
        String host = header.toLowerCase(Locale.ROOT);
        if (host.startsWith("[")) {
            int end = host.indexOf(']');
            return end < 0 ? null : host.substring(0, end + 1);
        }
        int colon = host.indexOf(':');
        return colon < 0 ? host : host.substring(0, colon);
    }
}
