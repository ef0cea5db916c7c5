package io.outboxkit.devkafka;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Where the development broker listens, keeps its data, and whether it creates topics on first
 * use: {@code PORT} (default {@value #DEFAULT_PORT}), {@code DATA_DIR} (default
 * {@value #DEFAULT_DATA_DIR}, relative to the working directory), {@code AUTO_CREATE_TOPICS}
 * ({@code true} or {@code false}, default {@code true}) and {@code PARTITIONS} (of a topic it
 * creates, default {@value #DEFAULT_PARTITIONS}). Immutable.
 *
 * @param port             the TCP port clients connect to, on 127.0.0.1
 * @param dataDirectory    the broker's log directory, absolute; kept across restarts
 * @param autoCreateTopics whether a producer's first record to an unknown topic creates it
 * @param partitions       the partitions of a topic the broker creates by itself
 */
public record DevKafkaSettings(int port, Path dataDirectory, boolean autoCreateTopics, int partitions) {

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
    }

    /** Settings with topic auto-creation on and the default partitions. */
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
        return new DevKafkaSettings(
                port == null ? DEFAULT_PORT : number("PORT", port, "a TCP port from 1 to 65535"),
                Path.of(dataDir == null ? DEFAULT_DATA_DIR : dataDir),
                autoCreate == null || bool("AUTO_CREATE_TOPICS", autoCreate),
                partitions == null ? DEFAULT_PARTITIONS : number("PARTITIONS", partitions, "a number from 1 to 100"));
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
