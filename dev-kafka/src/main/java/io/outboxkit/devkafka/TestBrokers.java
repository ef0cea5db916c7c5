package io.outboxkit.devkafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Kafka brokers for tests, one way for every module: the broker at {@code KAFKA_BOOTSTRAP_SERVERS}
 * when that is set, else a dev-kafka child process started once per JVM on a free port and a fresh
 * data directory, and killed when the JVM exits; and private brokers a test stops, kills and
 * restarts itself. Thread-safe.
 */
public final class TestBrokers {

    private static DevKafkaProcess shared;
    private static String bootstrap;

    private TestBrokers() {
    }

    /**
     * The bootstrap servers of the broker the tests of this JVM share: {@code KAFKA_BOOTSTRAP_SERVERS}
     * when set, else a dev-kafka started on first use with topic auto-creation off (tests create their
     * topics) and three partitions per topic.
     *
     * @throws DevKafkaException when the broker cannot be started
     */
    public static synchronized String sharedBootstrapServers() {
        if (bootstrap == null) {
            String given = System.getenv("KAFKA_BOOTSTRAP_SERVERS");
            if (given != null && !given.isBlank()) {
                bootstrap = given.trim();
            } else {
                shared = startPrivate(false);
                Runtime.getRuntime().addShutdownHook(new Thread(shared::kill, "dev-kafka-reaper"));
                bootstrap = shared.bootstrapServers();
            }
        }
        return bootstrap;
    }

    /**
     * A broker of the caller's own, on a free port and a fresh temporary data directory, three
     * partitions per topic it creates; the caller stops it.
     *
     * @throws DevKafkaException when it does not become ready
     */
    public static DevKafkaProcess startPrivate(boolean autoCreateTopics) {
        try {
            Path dir = Files.createTempDirectory("dev-kafka-test");
            return DevKafkaProcess.start(new DevKafkaSettings(freePort(), dir.resolve("kafka"), autoCreateTopics,
                    DevKafkaSettings.DEFAULT_PARTITIONS));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a data directory for a test broker", e);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
