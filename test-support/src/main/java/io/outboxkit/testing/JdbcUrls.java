package io.outboxkit.testing;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Rewrites the database part of a PostgreSQL JDBC URL. */
final class JdbcUrls {

    private static final Pattern URL = Pattern.compile("^(jdbc:postgresql://[^/?]+)(/[^?]*)?(\\?.*)?$");

    private JdbcUrls() {
    }

    static String withDatabase(String url, String database) {
        Matcher m = URL.matcher(url);
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    "not a PostgreSQL JDBC URL (expected jdbc:postgresql://host:port/database): " + redact(url));
        }
        return m.group(1) + "/" + database + (m.group(3) == null ? "" : m.group(3));
    }

    /** The URL without a password parameter, safe to print. */
    static String redact(String url) {
        return url.replaceAll("(?i)(password=)[^&]*", "$1***");
    }
}
