package io.outboxkit.testing;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Distinctive passwords for tests that prove a process never prints one, and the database
 * settings that carry them: {@code DB_PASSWORD} and a {@code password=} parameter in
 * {@code DB_URL}. A server that checks passwords refuses them; one that trusts the address (as
 * many test servers do) lets the process in; either way neither may appear in what it prints.
 */
public final class Secrets {

    /** The {@code DB_PASSWORD} given. */
    public static final String PASSWORD = "s3cr3t-Hunter2";
    /** The password put in {@code DB_URL}. */
    public static final String URL_PASSWORD = "s3cr3t-InTheUrl";

    private Secrets() {
    }

    /** DB_URL (the test database, its parameters replaced by the password), DB_USER and DB_PASSWORD. */
    public static Map<String, String> databaseEnv(PostgresExtension db) {
        String base = db.jdbcUrl().replaceFirst("\\?.*$", "");
        Map<String, String> env = new HashMap<>();
        env.put("DB_URL", base + "?password=" + URL_PASSWORD);
        env.put("DB_USER", db.user());
        env.put("DB_PASSWORD", PASSWORD);
        return env;
    }

    /** A DB_URL with the password before the host, a form the driver does not read. */
    public static String userInfoUrl() {
        return "jdbc:postgresql://postgres:" + URL_PASSWORD + "@127.0.0.1:1/outbox";
    }

    /** The lines of {@code output} that contain either password: empty when none leaked. */
    public static List<String> linesWithASecret(String output) {
        return output.lines().filter(line -> line.contains(PASSWORD) || line.contains(URL_PASSWORD)).toList();
    }
}
