package io.outboxkit.devpostgres;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Where the development PostgreSQL listens and keeps its data: {@code PORT} (default
 * {@value #DEFAULT_PORT}) and {@code DATA_DIR} (default {@value #DEFAULT_DATA_DIR}, relative to the
 * working directory). Immutable.
 *
 * @param port          the TCP port PostgreSQL listens on, on localhost
 * @param dataDirectory the cluster's data directory, absolute; kept across restarts
 */
public record DevPostgresSettings(int port, Path dataDirectory) {

    /** The default {@code PORT}: the port {@code DatabaseSettings.DEFAULT_URL} points at. */
    public static final int DEFAULT_PORT = 5433;
    /** The default {@code DATA_DIR}. */
    public static final String DEFAULT_DATA_DIR = ".data/postgres";

    /** Requires a port from 1 to 65535 and a data directory; makes the directory absolute. */
    public DevPostgresSettings {
        if (port < 1 || port > 65_535) {
            throw new DevPostgresException("PORT=" + port + " is not a TCP port from 1 to 65535",
                    DevPostgresException.EXIT_BAD_CONFIG);
        }
        dataDirectory = Objects.requireNonNull(dataDirectory, "dataDirectory").toAbsolutePath().normalize();
    }

    /**
     * The settings from {@code PORT} and {@code DATA_DIR} in {@code env}, with their defaults.
     *
     * @throws DevPostgresException when {@code PORT} is not a TCP port
     */
    public static DevPostgresSettings from(Map<String, String> env) {
        String port = value(env, "PORT");
        String dataDir = value(env, "DATA_DIR");
        return new DevPostgresSettings(port == null ? DEFAULT_PORT : parsePort(port),
                Path.of(dataDir == null ? DEFAULT_DATA_DIR : dataDir));
    }

    private static int parsePort(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new DevPostgresException("PORT=" + text + " is not a TCP port from 1 to 65535",
                    DevPostgresException.EXIT_BAD_CONFIG);
        }
    }

    private static String value(Map<String, String> env, String name) {
        String value = env.get(name);
        return value == null || value.isBlank() ? null : value.trim();
    }
}
