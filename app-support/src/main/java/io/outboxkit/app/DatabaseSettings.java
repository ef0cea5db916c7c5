package io.outboxkit.app;

/**
 * Where the database is: {@code DB_URL}, {@code DB_USER}, {@code DB_PASSWORD}. The defaults match
 * docker-compose.yml and run.sh's embedded PostgreSQL (localhost:5433, database/user/password
 * {@code outbox}). {@link #toString()} never shows the password.
 */
public record DatabaseSettings(String url, String user, String password) {

    /** The default {@code DB_URL}. */
    public static final String DEFAULT_URL = "jdbc:postgresql://localhost:5433/outbox";
    /** The default {@code DB_USER}. */
    public static final String DEFAULT_USER = "outbox";
    /** The default {@code DB_PASSWORD}. */
    public static final String DEFAULT_PASSWORD = "outbox";

    /** Validates the URL's form; refuses anything but a PostgreSQL JDBC URL. */
    public DatabaseSettings {
        if (url == null || !url.startsWith("jdbc:postgresql://")) {
            throw new ConfigException("DB_URL=" + redact(url) + " is not a PostgreSQL JDBC URL "
                    + "(expected jdbc:postgresql://host:port/database)");
        }
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

    private static String redact(String url) {
        return url == null ? "(unset)" : url.replaceAll("(?i)(password=)[^&]*", "$1***");
    }

    @Override
    public String toString() {
        return "DatabaseSettings[url=" + redactedUrl() + ", user=" + user + ", password=***]";
    }
}
