package io.outboxkit.devkafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.IntSupplier;

/**
 * Kafka brokers for tests, one way for every module: the broker at {@code KAFKA_BOOTSTRAP_SERVERS}
 * when that is set, else a dev-kafka child process started once per JVM on a free port and a fresh
 * data directory, and killed when the JVM exits; and private brokers a test stops, kills and
 * restarts itself. Thread-safe.
 *
 * <p>The caller gives the ports: take them below the kernel's ephemeral range (test-support's
 * {@code FreePorts.pick()}). A port from that range may be taken by any outgoing connection between
 * the choice and the broker's bind, and once a broker was killed, a client retrying its port can be
 * given that very port as its own and connect to itself, so the broker cannot come back on it.
 */
public final class TestBrokers {

    private static DevKafkaProcess shared;
    private static String bootstrap;

    private TestBrokers() {
    }

    /**
     * The bootstrap servers of the broker the tests of this JVM share: {@code KAFKA_BOOTSTRAP_SERVERS}
     * when set, else a dev-kafka started on first use with topic auto-creation off (tests create their
     * topics) and three partitions per topic, on a port from {@code freePort} (see the class comment).
     *
     * @throws DevKafkaException when the broker cannot be started
     */
    public static synchronized String sharedBootstrapServers(IntSupplier freePort) {
        if (bootstrap == null) {
            String given = System.getenv("KAFKA_BOOTSTRAP_SERVERS");
            if (given != null && !given.isBlank()) {
                bootstrap = given.trim();
            } else {
                shared = startPrivate(freePort.getAsInt(), false);
                Runtime.getRuntime().addShutdownHook(new Thread(shared::kill, "dev-kafka-reaper"));
                bootstrap = shared.bootstrapServers();
            }
        }
        return bootstrap;
    }

    /**
     * A broker of the caller's own, on {@code port} (free, and outside the ephemeral range: see the
     * class comment) and a fresh temporary data directory, three partitions per topic it creates;
     * the caller stops it.
     *
     * @throws DevKafkaException when it does not become ready
     */
    public static DevKafkaProcess startPrivate(int port, boolean autoCreateTopics) {
        try {
            Path dir = Files.createTempDirectory("dev-kafka-test");
            return DevKafkaProcess.start(new DevKafkaSettings(port, dir.resolve("kafka"), autoCreateTopics,
                    DevKafkaSettings.DEFAULT_PARTITIONS));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a data directory for a test broker", e);
        }
    }
}
