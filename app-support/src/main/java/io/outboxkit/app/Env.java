package io.outboxkit.app;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Typed access to environment variables: each getter takes the variable's name and its default,
 * and refuses a bad value with a {@link ConfigException} that names the variable.
 */
public final class Env {

    /** The user-info part of a URL, {@code //user:password@}, up to the host. */
    private static final Pattern USER_INFO = Pattern.compile("//[^/?#]*@");

    private final Map<String, String> variables;

    private Env(Map<String, String> variables) {
        this.variables = Map.copyOf(variables);
    }

    /** The process environment. */
    public static Env system() {
        return new Env(System.getenv());
    }

    /** Variables from a map, for tests and tools. */
    public static Env of(Map<String, String> variables) {
        return new Env(Objects.requireNonNull(variables, "variables"));
    }

    /** The raw value, or {@code fallback} when unset or blank. */
    public String string(String name, String fallback) {
        String value = variables.get(name);
        return value == null || value.isBlank() ? fallback : value.trim();
    }

    /** An integer from {@code min} to {@code max}. */
    public int integer(String name, int fallback, int min, int max) {
        String value = string(name, null);
        return value == null ? fallback : (int) inRange(name, value, min, max, "a whole number");
    }

    /** A duration given in milliseconds, from {@code minMillis} to {@code maxMillis}. */
    public Duration millis(String name, Duration fallback, long minMillis, long maxMillis) {
        String value = string(name, null);
        return value == null ? fallback
                : Duration.ofMillis(inRange(name, value, minMillis, maxMillis, "a number of milliseconds"));
    }

    /**
     * {@code value} as a whole number from {@code min} to {@code max}, or a refusal naming the
     * variable, what it should be ({@code what}) and the range. Parsed as a long for both callers:
     * an int's range within it gives the same refusals as parsing an int.
     */
    private static long inRange(String name, String value, long min, long max, String what) {
        try {
            long parsed = Long.parseLong(value);
            if (parsed >= min && parsed <= max) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // reported below, with the range
        }
        throw new ConfigException(name + "=" + value + " is not " + what + " from " + min + " to " + max);
    }

    /**
     * An absolute http or https URI with a host, a port of 1 to 65535 if it names one, and no user
     * name or password (nothing sends them: they would only reach the logs). A refusal never
     * repeats a password given in the URL.
     */
    public URI httpUri(String name, String fallback) {
        String value = string(name, fallback);
        String shown = USER_INFO.matcher(value).replaceFirst("//...@");
        URI uri;
        try {
            uri = new URI(value);
        } catch (URISyntaxException e) {
            uri = null;
        }
        if (uri == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
            throw new ConfigException(name + "=" + shown + " is not an http:// or https:// URL with a host");
        }
        if (uri.getRawUserInfo() != null) {
            throw new ConfigException(name + "=" + shown + " has a user name or password in it: nothing sends them over "
                    + "HTTP, so remove them from the URL");
        }
        if (uri.getPort() == 0 || uri.getPort() > ServiceSettings.MAX_PORT) {
            throw new ConfigException(name + "=" + shown + " has port " + uri.getPort() + ": a port is 1 to " + ServiceSettings.MAX_PORT);
        }
        return uri;
    }

    /**
     * One of {@code fallback}'s enum constants, named in any case ({@code lock} for {@code LOCK});
     * anything else is refused with the names accepted.
     */
    public <E extends Enum<E>> E oneOf(String name, E fallback) {
        String value = string(name, null);
        if (value == null) {
            return fallback;
        }
        E[] constants = fallback.getDeclaringClass().getEnumConstants();
        for (E constant : constants) {
            if (constant.name().equalsIgnoreCase(value)) {
                return constant;
            }
        }
        List<String> names = Arrays.stream(constants).map(c -> c.name().toLowerCase(Locale.ROOT)).toList();
        throw new ConfigException(name + "=" + value + " is not "
                + String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.get(names.size() - 1));
    }

    /**
     * A yes or no: true/false, on/off, yes/no or 1/0, in any case (variables are documented with
     * one pair or the other); anything else is refused with every spelling accepted.
     */
    public boolean bool(String name, boolean fallback) {
        String value = string(name, null);
        if (value == null) {
            return fallback;
        }
        switch (value.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1", "on":
                return true;
            case "false", "no", "0", "off":
                return false;
            default:
                throw new ConfigException(name + "=" + value + " is not on or off (nor true or false, yes or no, 1 or 0)");
        }
    }
}
