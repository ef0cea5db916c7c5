package io.outboxkit.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A Kafka of the bench's own: {@code dev-kafka.jar} (a real single-node KRaft broker) on a free
 * port with its data in {@code bench/target/kafka}, deleted at the start and at the end. Its
 * ceiling is Kafka's {@code ProducerPerformance} (from {@code kafka-tools}, which dev-kafka's jar
 * carries) in a JVM of its own, {@code acks=all}, idempotent, as the relay's producer.
 */
final class KafkaBenchBroker implements BenchBroker {

    private static final String READY = "dev-kafka: ready on port ";
    private static final Pattern RATE = Pattern.compile("records sent, ([0-9.]+) records/sec");

    private final Path jar;
    private final Path data;
    private final Path logs;
    private final Process process;
    private final String bootstrap;

    private KafkaBenchBroker(Path jar, Path data, Path logs, Process process, String bootstrap) {
        this.jar = jar;
        this.data = data;
        this.logs = logs;
        this.process = process;
        this.bootstrap = bootstrap;
    }

    /**
     * Starts dev-kafka from {@code jar}, topics created on first use with 3 partitions; returns once
     * it is ready. Its GC pauses go to {@code logs/dev-kafka-gc.log}; with {@code jfr} (or null) a
     * profile of it too, as of the services.
     */
    static KafkaBenchBroker start(Path jar, Path target, Path jfr) throws IOException, InterruptedException {
        if (!Files.isRegularFile(jar)) {
            throw new IOException(jar + " is missing (bench/run.sh builds it; run without BENCH_SKIP_BUILD)");
        }
        Path data = target.resolve("kafka");
        deleteTree(data);
        Path logs = target.resolve("logs");
        Files.createDirectories(logs);
        Path log = logs.resolve("dev-kafka.log");
        int port = freePort();
        // The broker's default heap and full JIT: run.sh's small C1-only JVM would make Kafka the bottleneck.
        List<String> command = new ArrayList<>(List.of("java", "-Xms256m", "-Xmx512m", "-XX:+UseSerialGC",
                "-Xlog:gc:file=" + logs.resolve("dev-kafka-gc.log") + ":time,uptime"));
        if (jfr != null) {
            command.addAll(Service.recording(jfr.resolve("dev-kafka.jfr"), ""));
        }
        command.addAll(List.of("-jar", jar.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(Map.of("PORT", Integer.toString(port), "DATA_DIR", data.toString(),
                "AUTO_CREATE_TOPICS", "true", "PARTITIONS", "3"));
        Process process = builder.start();
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (!Files.readString(log, StandardCharsets.UTF_8).contains(READY)) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new IOException("dev-kafka did not start (see " + log + ")");
            }
            Thread.sleep(100); // polling its log for the ready line
        }
        return new KafkaBenchBroker(jar, data, logs, process, "127.0.0.1:" + port);
    }

    @Override
    public String name() {
        return "kafka";
    }

    @Override
    public Map<String, String> env() {
        return Map.of("SINK", "kafka", "SOURCE", "kafka", "KAFKA_BOOTSTRAP_SERVERS", bootstrap,
                "KAFKA_TOPIC", "bench.event.{aggregate_type}", "CONSUMER_NAME", CONSUMER_NAME);
    }

    @Override
    public Map<String, String> aloneEnv() {
        return Map.of("SINK", "kafka", "KAFKA_BOOTSTRAP_SERVERS", bootstrap, "KAFKA_TOPIC", "bench.alone.{aggregate_type}");
    }

    @Override
    public String ceilingName() {
        return "Kafka's ProducerPerformance, acks=all, idempotent";
    }

    @Override
    public double ceiling(int records, int size) throws Exception {
        Path log = logs.resolve("kafka-producer-performance.log");
        List<String> command = new ArrayList<>(List.of("java", "-Xmx512m", "-cp", jar.toString(),
                "org.apache.kafka.tools.ProducerPerformance", "--topic", "bench.ceiling",
                "--num-records", Integer.toString(records), "--record-size", Integer.toString(size),
                "--throughput", "-1", "--producer-props", "bootstrap.servers=" + bootstrap, "acks=all",
                "enable.idempotence=true"));
        Process run = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!run.waitFor(5, TimeUnit.MINUTES)) {
            run.destroyForcibly();
            throw new IOException("ProducerPerformance did not finish within 5 minutes (see " + log + ")");
        }
        Matcher rate = RATE.matcher(Files.readString(log, StandardCharsets.UTF_8));
        String last = null;
        while (rate.find()) {
            last = rate.group(1); // the last line is the whole run's; the ones before, 5-second windows
        }
        if (run.exitValue() != 0 || last == null) {
            throw new IOException("ProducerPerformance failed (exit " + run.exitValue() + ", see " + log + ")");
        }
        return Double.parseDouble(last);
    }

    /** The broker's CPU seconds so far (user and system, from {@code /proc}). */
    @Override
    public OptionalDouble cpuSeconds() {
        return CpuMeter.processSeconds(process.pid());
    }

    @Override
    public void clearAlone() {
        // The relay alone and the ceiling wrote to topics of their own, which the consumer does not read.
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        deleteTree(data);
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
