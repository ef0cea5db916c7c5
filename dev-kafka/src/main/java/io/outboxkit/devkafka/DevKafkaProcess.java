package io.outboxkit.devkafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A development broker in a JVM of its own ({@link DevKafkaMain} on this JVM's class path), for
 * tests and tools that must stop it the way an operator or a crash would: {@link #stop()} sends
 * SIGTERM, {@link #kill()} SIGKILL, and {@link #restart()} starts it again on the same port and
 * data. Its output goes to a file beside its data directory, named after it ({@code kafka.log} for
 * {@code .data/kafka}). Not thread-safe.
 */
public final class DevKafkaProcess implements AutoCloseable {

    /** The JVM options of the child: a small heap, as run.sh gives the broker. */
    public static final List<String> JVM_OPTIONS = List.of("-Xms64m", "-Xmx256m", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1");

    private static final Duration READY_WAIT = Duration.ofSeconds(120);
    private static final String READY = "dev-kafka: ready on port ";

    private final DevKafkaSettings settings;
    private final Path log;
    private Process process;

    private DevKafkaProcess(DevKafkaSettings settings) {
        this.settings = settings;
        this.log = settings.dataDirectory().resolveSibling(settings.dataDirectory().getFileName() + ".log");
    }

    /**
     * Starts a broker with {@code settings} and returns once it printed that it is ready.
     *
     * @throws DevKafkaException when it exited or was not ready within two minutes, with its last lines
     */
    public static DevKafkaProcess start(DevKafkaSettings settings) {
        DevKafkaProcess broker = new DevKafkaProcess(settings);
        broker.launch();
        return broker;
    }

    /** Starts the broker again, on the same port and data directory, after {@link #stop()} or {@link #kill()}. */
    public void restart() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("the broker on port " + settings.port() + " is still running");
        }
        launch();
    }

    private void launch() {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JVM_OPTIONS);
        command.addAll(List.of("-cp", classPath(), DevKafkaMain.class.getName()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().putAll(Map.of("PORT", Integer.toString(settings.port()),
                "DATA_DIR", settings.dataDirectory().toString(),
                "AUTO_CREATE_TOPICS", Boolean.toString(settings.autoCreateTopics()),
                "PARTITIONS", Integer.toString(settings.partitions())));
        if (settings.saslUsersVariable() != null) {
            builder.environment().put("SASL_USERS", settings.saslUsersVariable());
        }
        try {
            Files.createDirectories(log.getParent());
            long readyLinesBefore = readyLines();
            process = builder.start();
            awaitReady(readyLinesBefore);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start dev-kafka on port " + settings.port(), e);
        }
    }

    private void awaitReady(long readyLinesBefore) throws IOException {
        long deadline = System.nanoTime() + READY_WAIT.toNanos();
        while (readyLines() == readyLinesBefore) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new DevKafkaException("dev-kafka on port " + settings.port() + " was not ready within "
                        + READY_WAIT + (process.isAlive() ? "" : " (it exited)") + "; its log " + log + " ends with: "
                        + lastLines(5));
            }
            try {
                Thread.sleep(50); // polls the log file for the ready line
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
                throw new DevKafkaException("interrupted while waiting for dev-kafka on port " + settings.port());
            }
        }
    }

    private long readyLines() throws IOException {
        if (!Files.exists(log)) {
            return 0;
        }
        return Files.readAllLines(log, StandardCharsets.UTF_8).stream().filter(l -> l.startsWith(READY)).count();
    }

    private String lastLines(int count) throws IOException {
        List<String> lines = Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
        return String.join(" | ", lines.subList(Math.max(0, lines.size() - count), lines.size()));
    }

    /** Surefire puts a test's class path in a property of its own; elsewhere it is the JVM's. */
    private static String classPath() {
        return Optional.ofNullable(System.getProperty("surefire.test.class.path")).filter(p -> !p.isBlank())
                .orElse(System.getProperty("java.class.path"));
    }

    /** What a client puts in {@code bootstrap.servers}. */
    public String bootstrapServers() {
        return "127.0.0.1:" + settings.port();
    }

    /** The settings it runs with. */
    public DevKafkaSettings settings() {
        return settings;
    }

    /** The file its stdout and stderr go to. */
    public Path log() {
        return log;
    }

    /** Whether the broker's process is running. */
    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** SIGTERM, as an operator would: waits up to a minute for a clean stop; returns the exit status. */
    public int stop() {
        return end(false);
    }

    /** SIGKILL, as a crash would: nothing is flushed or closed; returns once the process is gone. */
    public void kill() {
        end(true);
    }

    private int end(boolean forcibly) {
        if (process == null) {
            return 0;
        }
        if (forcibly) {
            process.toHandle().destroyForcibly();
        } else {
            process.toHandle().destroy();
        }
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        return process.isAlive() ? -1 : process.exitValue();
    }

    /** Kills the broker if it still runs. */
    @Override
    public void close() {
        if (isAlive()) {
            kill();
        }
    }
}
