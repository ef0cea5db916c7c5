package io.outboxkit.devkafka;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Where the development broker listens, keeps its data, and whether it creates topics on first
 * use: {@code PORT} (default {@value #DEFAULT_PORT}), {@code DATA_DIR} (default
 * {@value #DEFAULT_DATA_DIR}, relative to the working directory), {@code AUTO_CREATE_TOPICS}
 * ({@code true} or {@code false}, default {@code true}), {@code PARTITIONS} (of a topic it
 * creates, default {@value #DEFAULT_PARTITIONS}) and {@code SASL_USERS} ({@code name:password,...};
 * unset: no authentication). Immutable.
 *
 * @param port             the TCP port clients connect to, on 127.0.0.1
 * @param dataDirectory    the broker's log directory, absolute; kept across restarts
 * @param autoCreateTopics whether a producer's first record to an unknown topic creates it
 * @param partitions       the partitions of a topic the broker creates by itself
 * @param saslUsers        when not empty, clients must log in with SASL/PLAIN as one of these users
 *                         (name to password) and are authorized by ACLs; the first user (in the
 *                         map's iteration order: pass a LinkedHashMap) is a super user, who may
 *                         create topics and grant the others rights
 */
public record DevKafkaSettings(int port, Path dataDirectory, boolean autoCreateTopics, int partitions,
                               Map<String, String> saslUsers) {

    /** The default {@code PORT}: Kafka's usual port, the one the services' default bootstrap servers name. */
    public static final int DEFAULT_PORT = 9092;
    /** The default {@code DATA_DIR}. */
    public static final String DEFAULT_DATA_DIR = ".data/kafka";
    /** The default {@code PARTITIONS}: a few, so records of different keys spread as they would in production. */
    public static final int DEFAULT_PARTITIONS = 3;

    /** Requires a port from 1 to 65535, a data directory and 1 to 100 partitions; makes the directory absolute. */
    public DevKafkaSettings {
        if (port < 1 || port > 65_535) {
            throw new DevKafkaException("PORT=" + port + " is not a TCP port from 1 to 65535");
        }
        if (partitions < 1 || partitions > 100) {
            throw new DevKafkaException("PARTITIONS=" + partitions + " is not a number from 1 to 100");
        }
        dataDirectory = Objects.requireNonNull(dataDirectory, "dataDirectory").toAbsolutePath().normalize();
        saslUsers = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(saslUsers));
        saslUsers.forEach((name, password) -> {
            if (!name.matches("[A-Za-z0-9_.-]+") || !password.matches("[A-Za-z0-9_.-]+")) {
                throw new DevKafkaException("SASL_USERS: user names and passwords may hold only letters, digits, '.', '_'"
                        + " and '-'");
            }
        });
    }

    /** Settings without authentication. */
    public DevKafkaSettings(int port, Path dataDirectory, boolean autoCreateTopics, int partitions) {
        this(port, dataDirectory, autoCreateTopics, partitions, Map.of());
    }

    /** Settings with topic auto-creation on, the default partitions and no authentication. */
    public DevKafkaSettings(int port, Path dataDirectory) {
        this(port, dataDirectory, true, DEFAULT_PARTITIONS);
    }

    /**
     * The settings from {@code PORT}, {@code DATA_DIR}, {@code AUTO_CREATE_TOPICS} and
     * {@code PARTITIONS} in {@code env}, with their defaults.
     *
     * @throws DevKafkaException naming the variable that is wrong and what it may be
     */
    public static DevKafkaSettings from(Map<String, String> env) {
        String port = value(env, "PORT");
        String dataDir = value(env, "DATA_DIR");
        String autoCreate = value(env, "AUTO_CREATE_TOPICS");
        String partitions = value(env, "PARTITIONS");
        String users = value(env, "SASL_USERS");
        return new DevKafkaSettings(
                port == null ? DEFAULT_PORT : number("PORT", port, "a TCP port from 1 to 65535"),
                Path.of(dataDir == null ? DEFAULT_DATA_DIR : dataDir),
                autoCreate == null || bool("AUTO_CREATE_TOPICS", autoCreate),
                partitions == null ? DEFAULT_PARTITIONS : number("PARTITIONS", partitions, "a number from 1 to 100"),
                users == null ? Map.of() : users(users));
    }

    private static Map<String, String> users(String text) {
        Map<String, String> users = new LinkedHashMap<>();
        for (String user : text.split(",")) {
            String[] nameAndPassword = user.trim().split(":", 2);
            if (nameAndPassword.length != 2 || nameAndPassword[0].isEmpty() || nameAndPassword[1].isEmpty()) {
                throw new DevKafkaException("SASL_USERS must be name:password[,name:password...]");
            }
            users.put(nameAndPassword[0], nameAndPassword[1]);
        }
        return users;
    }

    /** The settings, with the users' names but never their passwords. */
    @Override
    public String toString() {
        return "DevKafkaSettings[port=" + port + ", dataDirectory=" + dataDirectory + ", autoCreateTopics="
                + autoCreateTopics + ", partitions=" + partitions + ", saslUsers=" + saslUsers.keySet() + "]";
    }

    /** {@code SASL_USERS} as the environment gives it, or null without authentication. */
    String saslUsersVariable() {
        if (saslUsers.isEmpty()) {
            return null;
        }
        StringBuilder text = new StringBuilder();
        saslUsers.forEach((name, password) -> text.append(text.length() == 0 ? "" : ",").append(name).append(':').append(password));
        return text.toString();
    }

    private static int number(String name, String text, String allowed) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new DevKafkaException(name + "=" + text + " is not " + allowed);
        }
    }

    private static boolean bool(String name, String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new DevKafkaException(name + "=" + text + " is not true or false");
        };
    }

    private static String value(Map<String, String> env, String name) {
        String value = env.get(name);
        return value == null || value.isBlank() ? null : value.trim();
    }
}
