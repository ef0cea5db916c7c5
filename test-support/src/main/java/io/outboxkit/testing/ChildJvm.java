package io.outboxkit.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A {@code main} class run in a JVM of its own, on this JVM's class path, with an environment of the
 * test's choosing (nothing inherited but PATH, HOME, LANG and TMPDIR), its stdout and stderr
 * captured together. For tests of what a process prints: its log, its errors, its exit status.
 *
 * <p>{@link #withVerboseLogging} raises the logs to what an operator hunting a connection problem
 * would turn on: slf4j-simple to debug (the pool, Flyway, the services; Jetty stays at info),
 * java.util.logging, which the PostgreSQL driver uses, to ALL. Thread-safe.
 */
public final class ChildJvm implements AutoCloseable {

    private static final List<String> INHERITED = List.of("PATH", "HOME", "LANG", "TMPDIR");
    private static final String VERBOSE_JUL = """
            handlers=java.util.logging.ConsoleHandler
            .level=ALL
            java.util.logging.ConsoleHandler.level=ALL
            """;

    private final Process process;
    private final StringBuilder output = new StringBuilder();
    private final Thread reader;

    private ChildJvm(Process process) {
        this.process = process;
        this.reader = new Thread(this::read, "child-jvm-output-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    /** JVM options that raise the child's logs to debug (java.util.logging to ALL). */
    public static List<String> withVerboseLogging() {
        try {
            Path julConfig = Files.createTempFile("verbose-jul", ".properties");
            Files.writeString(julConfig, VERBOSE_JUL);
            julConfig.toFile().deleteOnExit();
            return List.of("-Dorg.slf4j.simpleLogger.defaultLogLevel=debug",
                    "-Dorg.slf4j.simpleLogger.log.com.zaxxer.hikari=debug",
                    "-Dorg.slf4j.simpleLogger.log.org.flywaydb=debug",
                    "-Dorg.slf4j.simpleLogger.log.org.eclipse.jetty=info",
                    "-Djava.util.logging.config.file=" + julConfig);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts {@code java jvmOptions mainClass args} with exactly {@code env} (plus PATH, HOME, LANG, TMPDIR). */
    public static ChildJvm start(String mainClass, Map<String, String> env, List<String> jvmOptions, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of("-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", classPath()));
        command.addAll(jvmOptions);
        command.add(mainClass);
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        Map<String, String> childEnv = builder.environment();
        childEnv.keySet().removeIf(name -> !INHERITED.contains(name));
        childEnv.putAll(env);
        try {
            return new ChildJvm(builder.start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start a JVM for " + mainClass, e);
        }
    }

    /** Surefire puts the test class path in a property; elsewhere it is the JVM's own. */
    private static String classPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path");
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                synchronized (output) {
                    output.append(line).append('\n');
                    output.notifyAll();
                }
            }
        } catch (IOException e) {
            // the process is gone: what it printed is kept
        } finally {
            synchronized (output) {
                output.notifyAll();
            }
        }
    }

    /**
     * Waits until the output contains {@code text}; false when the process's output ended first or
     * {@code timeout} passed.
     */
    public boolean awaitOutput(String text, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (output) {
            while (output.indexOf(text) < 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !reader.isAlive()) {
                    return output.indexOf(text) >= 0;
                }
                output.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
            return true;
        }
    }

    /**
     * Waits for the process to exit by itself and returns its exit status.
     *
     * @throws AssertionError when it is still running after {@code timeout} (it is then killed)
     */
    public int waitFor(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor();
            throw new AssertionError("the process did not exit within " + timeout + "; its output:\n" + output());
        }
        reader.join(timeout.toMillis());
        return process.exitValue();
    }

    /**
     * Asks the process to stop (SIGTERM), as an operator would; returns its exit status. What it
     * prints while it stops (its shutdown hooks) is kept.
     */
    public int stop(Duration timeout) throws InterruptedException {
        // Not Process.destroy: it also closes the pipes, losing what the process prints as it stops.
        process.toHandle().destroy();
        return waitFor(timeout);
    }

    /** Everything printed so far, stdout and stderr interleaved. */
    public String output() {
        synchronized (output) {
            return output.toString();
        }
    }

    /** Kills the process if it still runs. */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }
}
