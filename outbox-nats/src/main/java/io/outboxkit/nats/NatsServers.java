package io.outboxkit.nats;

import io.outboxkit.core.InvalidOptionException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The NATS servers to connect to, read from a comma-separated list of URLs
 * ({@code nats://[user:password@|token@]host[:port]}, the port 1 to 65535, or {@code tls://} for TLS), with the
 * credentials taken out: the client gets URLs without them, so nothing it logs or throws can carry
 * a secret, and {@link #toString()} shows the user but never the password or token.
 *
 * @param urls     the servers, {@code scheme://host:port}, without credentials
 * @param user     the user, or null
 * @param password the user's password, or null
 * @param token    the token, or null
 */
record NatsServers(List<String> urls, String user, String password, String token) {

    /** The port a URL without one means: NATS's own. */
    static final int DEFAULT_PORT = 4222;

    /** A URL's user-info: up to its last {@code @} before whitespace or the next URL (a password may hold / or @). */
    private static final Pattern USER_INFO = Pattern.compile("//(?:(?!//)\\S)*@");

    NatsServers {
        urls = List.copyOf(urls);
    }

    /**
     * Parses {@code text}, naming {@code option} in the error.
     *
     * @throws InvalidOptionException naming {@code option}, saying what is wrong, never quoting a password or token
     */
    static NatsServers parse(String option, String text) {
        if (text == null || text.isBlank()) {
            throw new InvalidOptionException(option, option + " must name one or more NATS servers, e.g. nats://localhost:4222");
        }
        List<String> urls = new ArrayList<>();
        String[] credentials = null;
        for (String part : text.split(",", -1)) {
            String url = part.strip();
            URI uri = uri(option, url);
            urls.add(uri.getScheme() + "://" + hostOf(uri) + ":" + (uri.getPort() == -1 ? DEFAULT_PORT : uri.getPort()));
            String[] these = credentials(uri);
            boolean none = these[0] == null && these[2] == null;
            if (credentials == null || credentials[0] == null && credentials[2] == null) {
                credentials = these;
            } else if (!none && !java.util.Arrays.equals(credentials, these)) {
                throw new InvalidOptionException(option, option + ": the URLs carry different credentials; give the same "
                        + "user:password or token in each, or only in the first: " + redact(text));
            }
        }
        return new NatsServers(urls, credentials[0], credentials[1], credentials[2]);
    }

    /** {@code text} with whatever stands between {@code //} and {@code @} replaced by {@code ***}. */
    static String redact(String text) {
        return text == null ? null : USER_INFO.matcher(text).replaceAll("//***@");
    }

    private static URI uri(String option, String url) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new InvalidOptionException(option, option + ": not a URL: '" + redact(url) + "' (expected nats://host:port)");
        }
        String scheme = uri.getScheme();
        if (scheme == null || !(scheme.equals("nats") || scheme.equals("tls"))) {
            throw new InvalidOptionException(option, option + ": '" + redact(url) + "' must start with nats:// or tls://");
        }
        if (uri.getHost() == null) {
            throw new InvalidOptionException(option, option + ": '" + redact(url) + "' has no host (expected nats://host:port)");
        }
        if (uri.getPort() == 0 || uri.getPort() > 65_535) { // the client would try it forever, never reaching it
            throw new InvalidOptionException(option, option + ": '" + redact(url) + "' has port " + uri.getPort()
                    + ", not 1 to 65535");
        }
        boolean emptyPath = uri.getRawPath() == null || uri.getRawPath().isEmpty() || uri.getRawPath().equals("/");
        if (!emptyPath || uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new InvalidOptionException(option, option + ": '" + redact(url) + "' may have no path, query or fragment "
                    + "(expected nats://host:port)");
        }
        return uri;
    }

    private static String hostOf(URI uri) {
        String host = uri.getHost();
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    /** {user, password, token}, each possibly null. */
    private static String[] credentials(URI uri) {
        String raw = uri.getRawUserInfo();
        if (raw == null || raw.isEmpty()) {
            return new String[3];
        }
        int colon = raw.indexOf(':');
        if (colon < 0) {
            return new String[] {null, null, decode(raw)};
        }
        return new String[] {decode(raw.substring(0, colon)), decode(raw.substring(colon + 1)), null};
    }

    private static String decode(String text) {
        return URLDecoder.decode(text.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    /** Whether the URLs carried credentials. */
    boolean hasCredentials() {
        return user != null || token != null;
    }

    @Override
    public String toString() {
        String who = user != null ? user + ":***@" : token != null ? "***@" : "";
        List<String> shown = new ArrayList<>();
        for (String url : urls) {
            int at = url.indexOf("://") + 3;
            shown.add(url.substring(0, at) + who + url.substring(at));
        }
        return String.join(",", shown);
    }
}
