package io.outboxkit.devkafka;

import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar dev-kafka.jar}: starts the development Kafka broker (see {@link DevKafka}),
 * prints {@code dev-kafka: ready on port P (data in DIR)} on stdout once clients can connect, and
 * runs until SIGTERM or Ctrl-C, when it stops the broker cleanly and prints
 * {@code dev-kafka: stopped}. A failed start is one line on stderr and exit status 2. Configured by
 * {@code PORT}, {@code DATA_DIR}, {@code AUTO_CREATE_TOPICS}, {@code PARTITIONS} and {@code SASL_USERS} (see
 * {@link DevKafkaSettings}); Kafka's own log goes to stderr at WARN unless
 * {@code -Dorg.slf4j.simpleLogger.defaultLogLevel} says otherwise.
 *
 * <p>Its JVM needs little: {@code -Xms64m -Xmx256m -XX:+UseSerialGC} keeps it small beside the
 * services on a 2-core machine (the broker's threads and internal partitions are already cut
 * down, see {@link DevKafka}).
 */
public final class DevKafkaMain {

    private DevKafkaMain() {
    }

    /** Runs until the JVM is asked to exit. */
    public static void main(String[] args) {
        // Kafka logs every step of a start at INFO; a development broker's log should show only trouble.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
            // It reports its routine first activation on a fresh data directory as a warning.
            System.setProperty("org.slf4j.simpleLogger.log.org.apache.kafka.controller.QuorumController", "error");
        }
        DevKafka kafka;
        try {
            kafka = DevKafka.start(DevKafkaSettings.from(System.getenv()));
        } catch (DevKafkaException e) {
            System.err.println("dev-kafka: " + e.getMessage());
            System.exit(e.exitStatus());
            return;
        } catch (RuntimeException | Error e) {
            System.err.println("dev-kafka: cannot start Kafka: " + DevKafka.rootMessage(e));
            System.exit(DevKafkaException.EXIT_START_FAILED);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(kafka, stopped), "dev-kafka-stop"));
        System.out.println("dev-kafka: ready on port " + kafka.port() + " (data in "
                + kafka.settings().dataDirectory() + ", cluster " + kafka.clusterId() + ", topic auto-creation "
                + (kafka.settings().autoCreateTopics() ? "on" : "off")
                + (kafka.settings().saslUsers().isEmpty() ? "" : ", SASL/PLAIN users " + kafka.settings().saslUsers().keySet())
                + ")");
        System.out.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void stop(DevKafka kafka, CountDownLatch stopped) {
        try {
            kafka.close();
            System.out.println("dev-kafka: stopped");
        } catch (RuntimeException e) {
            System.err.println("dev-kafka: Kafka did not stop cleanly: " + DevKafka.rootMessage(e));
        } finally {
            System.out.flush();
            stopped.countDown();
        }
    }
}
