package io.outboxkit.rabbitmq;

import com.rabbitmq.client.ConnectionFactory;
import io.outboxkit.core.InvalidOptionException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import javax.net.ssl.SSLContext;

/**
 * Where a broker is and who connects, from an {@code amqp://user:password@host:port/vhost} URI
 * ({@code amqps://} for TLS). {@link #toString()} leaves the password out, so a log line or an
 * error can show the rest.
 *
 * <p>The path is the virtual host, %-encoded ({@code /%2F} is {@code /}); an empty path, or
 * {@code /} alone, also means {@code /}, since no one names a virtual host with the empty
 * string. The user and password default to guest/guest, the port (1 to 65535) to 5672 (5671 for amqps).
 */
record AmqpUri(boolean tls, String host, int port, String username, String password, String virtualHost) {

    private static final String FORM = "amqp://user:password@host:port/vhost or amqps://...";

    /**
     * Parses {@code text}, naming {@code option} in the error. The error never repeats the text,
     * which may hold a password.
     *
     * @throws InvalidOptionException naming {@code option}, saying what is wrong and what is expected
     */
    static AmqpUri parse(String option, String text) {
        if (text == null || text.isBlank()) {
            throw new InvalidOptionException(option, option + " must be given, as " + FORM);
        }
        URI uri;
        try {
            uri = new URI(text.strip());
        } catch (URISyntaxException e) {
            throw new InvalidOptionException(option, option + " is not a valid URI (" + e.getReason() + " at index "
                    + e.getIndex() + "); expected " + FORM);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
        if (!scheme.equals("amqp") && !scheme.equals("amqps")) {
            throw new InvalidOptionException(option, option + " must start with amqp:// or amqps://"
                    + (scheme.isEmpty() ? "" : ", not " + scheme + "://") + "; expected " + FORM);
        }
        if (uri.getHost() == null) {
            throw new InvalidOptionException(option, option + " has no host (or one that is not a valid host name); expected " + FORM);
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new InvalidOptionException(option, option + " must not have a query or fragment (the builder sets the "
                    + "client's options); expected " + FORM);
        }
        if (uri.getPort() == 0 || uri.getPort() > 65_535) { // the client would try it forever, never reaching it
            throw new InvalidOptionException(option, option + " has port " + uri.getPort() + ", not 1 to 65535; expected "
                    + FORM);
        }
        boolean tls = scheme.equals("amqps");
        int port = uri.getPort() == -1 ? (tls ? ConnectionFactory.DEFAULT_AMQP_OVER_SSL_PORT : ConnectionFactory.DEFAULT_AMQP_PORT)
                : uri.getPort();
        String username = ConnectionFactory.DEFAULT_USER;
        String password = ConnectionFactory.DEFAULT_PASS;
        String userInfo = uri.getRawUserInfo();
        if (userInfo != null) {
            int colon = userInfo.indexOf(':');
            username = decode(option, colon < 0 ? userInfo : userInfo.substring(0, colon));
            password = colon < 0 ? "" : decode(option, userInfo.substring(colon + 1));
        }
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        if (path.indexOf('/', 1) >= 0) {
            throw new InvalidOptionException(option, option + " has a path of several segments; the path is the virtual host, "
                    + "with / written %2F (amqp://host:5672/%2F)");
        }
        String virtualHost = path.length() <= 1 ? "/" : decode(option, path.substring(1));
        return new AmqpUri(tls, uri.getHost(), port, username, password, virtualHost);
    }

    private static String decode(String option, String raw) {
        try {
            return URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new InvalidOptionException(option, option + " has a malformed %-escape in its user, password or virtual host");
        }
    }

    /** Sets the factory's address, credentials and virtual host; for amqps, TLS with the JVM's trust store and host name check. */
    void applyTo(ConnectionFactory factory) {
        factory.setHost(host.startsWith("[") ? host.substring(1, host.length() - 1) : host); // an IPv6 literal
        factory.setPort(port);
        factory.setUsername(username);
        factory.setPassword(password);
        factory.setVirtualHost(virtualHost);
        if (tls) {
            try {
                factory.useSslProtocol(SSLContext.getDefault());
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("this JVM has no default TLS context for amqps", e);
            }
            factory.enableHostnameVerification();
        }
    }

    /** The URI without its password: {@code amqp://guest@127.0.0.1:5672/%2F}. */
    @Override
    public String toString() {
        return (tls ? "amqps" : "amqp") + "://" + URLEncoder.encode(username, StandardCharsets.UTF_8) + "@" + host + ":" + port
                + "/" + URLEncoder.encode(virtualHost, StandardCharsets.UTF_8);
    }
}
