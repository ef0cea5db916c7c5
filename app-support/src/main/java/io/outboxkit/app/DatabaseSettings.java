package io.outboxkit.app;

import io.outboxkit.core.spi.Texts;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Where the database is: {@code DB_URL}, {@code DB_USER}, {@code DB_PASSWORD}. The defaults match
 * docker-compose.yml and run.sh's embedded PostgreSQL (localhost:5433, database/user/password
 * {@code outbox}). {@link #toString()} and {@link #redactedUrl()} never show a password.
 *
 * <p>The URL may carry the password as a {@code password=} parameter (as the PostgreSQL driver
 * allows; it then wins over {@code DB_PASSWORD}, as in the driver). It is refused in the
 * {@code user:password@host} form, which the driver does not read and would print as a host name.
 */
public record DatabaseSettings(String url, String user, String password) {

    /** The default {@code DB_URL}. */
    public static final String DEFAULT_URL = "jdbc:postgresql://localhost:5433/outbox";
    /** The default {@code DB_USER}. */
    public static final String DEFAULT_USER = "outbox";
    /** The default {@code DB_PASSWORD}. */
    public static final String DEFAULT_PASSWORD = "outbox";

    private static final String PREFIX = "jdbc:postgresql://";
    /** A {@code user:password@} before the host, in any scheme (a libpq URI given by mistake, too). */
    private static final Pattern USER_INFO = Pattern.compile("^([A-Za-z][A-Za-z0-9+.:-]*://)[^/?#]*@");
    private static final Pattern PASSWORD_PARAMETER = Pattern.compile("(?i)(password=)[^&]*");

    /** Validates the URL's form; refuses anything but a PostgreSQL JDBC URL. */
    public DatabaseSettings {
        if (url == null || !url.startsWith(PREFIX)) {
            throw new ConfigException("DB_URL=" + redact(url) + " is not a PostgreSQL JDBC URL "
                    + "(expected jdbc:postgresql://host:port/database)");
        }
        if (USER_INFO.matcher(url).find()) {
            throw new ConfigException("DB_URL=" + redact(url) + " has a user or password before the host, which the "
                    + "PostgreSQL driver does not read: give them in DB_USER and DB_PASSWORD");
        }
        passwordParameter(url); // refuses a password parameter that is not valid percent-encoding
        requirePorts(url);
        if (user == null || user.isBlank()) {
            throw new ConfigException("DB_USER must not be blank");
        }
    }

    /** The settings from {@code DB_URL}, {@code DB_USER}, {@code DB_PASSWORD}, with their defaults. */
    public static DatabaseSettings from(Env env) {
        return new DatabaseSettings(env.string("DB_URL", DEFAULT_URL), env.string("DB_USER", DEFAULT_USER),
                env.string("DB_PASSWORD", DEFAULT_PASSWORD));
    }

    /** The URL without any password parameter it may carry, safe to log. */
    public String redactedUrl() {
        return redact(url);
    }

    /**
     * The URL to hand the driver: without its {@code password} parameter, which goes to the driver
     * as a property instead (see {@link #effectivePassword()}), so that neither the driver nor the
     * pool can print it with the URL (the driver logs every URL it connects with at FINE level).
     */
    String urlWithoutPassword() {
        int query = url.indexOf('?');
        if (query < 0) {
            return url;
        }
        List<String> kept = new ArrayList<>();
        for (String parameter : url.substring(query + 1).split("&", -1)) {
            if (!isPasswordParameter(parameter)) {
                kept.add(parameter);
            }
        }
        return url.substring(0, query) + (kept.isEmpty() ? "" : "?" + String.join("&", kept));
    }

    /** The user the driver logs in as: the URL's {@code user} parameter when it has one (it wins), else {@link #user()}. */
    public String effectiveUser() {
        String fromUrl = parameter(url, "user");
        return fromUrl != null && !fromUrl.isEmpty() ? fromUrl : user;
    }

    /**
     * Refuses a host's port that is not 1 to 65535 (the driver only logs a warning of its own and
     * then finds no driver for the URL). Hosts are comma-separated, IPv6 ones in brackets.
     */
    private static void requirePorts(String url) {
        String rest = url.substring(PREFIX.length());
        int end = rest.length();
        for (char stop : new char[] {'/', '?', '#'}) {
            int at = rest.indexOf(stop);
            if (at >= 0 && at < end) {
                end = at;
            }
        }
        for (String host : rest.substring(0, end).split(",", -1)) {
            int colon = host.lastIndexOf(':');
            if (colon < 0 || host.lastIndexOf(']') > colon) {
                continue; // no port: the default
            }
            String port = host.substring(colon + 1);
            if (!port.matches("\\d{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > ServiceSettings.MAX_PORT) {
                throw new ConfigException("DB_URL=" + redact(url) + " has port \"" + shorten(port) + "\": a port is 1 to "
                        + ServiceSettings.MAX_PORT);
            }
        }
    }

    private static String shorten(String text) {
        return Texts.abbreviate(text, 20);
    }

    /** The password the driver would use: the URL's {@code password} parameter when it has one, else {@link #password()}. */
    String effectivePassword() {
        String fromUrl = passwordParameter(url);
        return fromUrl != null ? fromUrl : password;
    }

    /** The decoded value of the URL's last {@code password} parameter (the driver's choice), or null. */
    private static String passwordParameter(String url) {
        return parameter(url, "password");
    }

    /** The decoded value of the URL's last parameter called {@code name} (the driver's choice), or null. */
    private static String parameter(String url, String name) {
        int query = url.indexOf('?');
        if (query < 0) {
            return null;
        }
        String value = null;
        for (String parameter : url.substring(query + 1).split("&", -1)) {
            if (parameter.startsWith(name + "=")) {
                try {
                    value = URLDecoder.decode(parameter.substring(name.length() + 1), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    throw new ConfigException("DB_URL=" + redact(url) + " has a " + name + " parameter that is not valid "
                            + "percent-encoding");
                }
            }
        }
        return value;
    }

    private static boolean isPasswordParameter(String parameter) {
        return parameter.startsWith("password=");
    }

    private static String redact(String url) {
        if (url == null) {
            return "(unset)";
        }
        String withoutUserInfo = USER_INFO.matcher(url).replaceFirst("$1***@");
        return PASSWORD_PARAMETER.matcher(withoutUserInfo).replaceAll("$1***");
    }

    @Override
    public String toString() {
        return "DatabaseSettings[url=" + redactedUrl() + ", user=" + user + ", password=***]";
    }
}
