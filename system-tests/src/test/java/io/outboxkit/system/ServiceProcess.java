package io.outboxkit.system;

import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipFile;

/**
 * One service as a real separate JVM, started from its jar, its output in target/e2e-logs/.
 *
 * <p>The jars are copied once per test JVM to target/e2e-jars/ before the first start, so every
 * process of one run is the same build even while another build rewrites ../module/target.
 * Every process still running when the test JVM exits is killed by a shutdown hook, so a crashed
 * or timed-out run leaves nothing behind. Thread-safe.
 */
public final class ServiceProcess implements AutoCloseable {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Path JARS = Path.of("target", "e2e-jars").toAbsolutePath();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private static final Map<String, Path> SNAPSHOTS = new ConcurrentHashMap<>();
    private static final Set<ServiceProcess> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(p -> {
            p.process.destroyForcibly();
        }), "service-process-reaper"));
    }

    private final String name;
    private final Process process;
    private final Path log;
    private volatile boolean paused;

    private ServiceProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /** The runnable jar of {@code module} (a snapshot of ../module/target/module.jar taken at first use). */
    public static Path jar(String module) {
        return SNAPSHOTS.computeIfAbsent(module, ServiceProcess::snapshot);
    }

    private static Path snapshot(String module) {
        Path jar = ROOT.resolve(module).resolve("target").resolve(module + ".jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: build the reactor first (mvn -B verify at the root)");
        }
        try {
            Files.createDirectories(JARS);
            // Copied aside, checked, then renamed into place: a JVM of another run that has the old
            // copy open keeps reading it, and no JVM ever starts from a half-written jar.
            Path copy = JARS.resolve(module + ".jar");
            Path partial = JARS.resolve(module + ".jar." + ProcessHandle.current().pid() + ".tmp");
            Files.copy(jar, partial, StandardCopyOption.REPLACE_EXISTING);
            try (ZipFile zip = new ZipFile(partial.toFile())) {
                if (zip.getEntry("META-INF/MANIFEST.MF") == null) {
                    throw new IllegalStateException(jar + " has no manifest: is a build rewriting it? build again");
                }
            }
            Files.move(partial, copy, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return copy;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy " + jar + " (is a build rewriting it?)", e);
        }
    }

    /** Starts {@code java -jar <module>.jar} with {@code env} added to this JVM's environment. */
    public static ServiceProcess start(String module, String name, Map<String, String> env) {
        List<String> command = new ArrayList<>(List.of(javaBinary(), "-Xmx256m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Xss512k", "-jar", jar(module).toString()));
        return launch(name, command, env);
    }

    /** Runs {@code java -jar <module>.jar args...} to completion and returns its exit code and output. */
    public static Result run(String module, Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>(List.of(javaBinary(), "-Xmx128m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-jar", jar(module).toString()));
        command.addAll(List.of(args));
        ServiceProcess p = launch(module + "-run", command, env);
        try {
            if (!p.process.waitFor(60, TimeUnit.SECONDS)) {
                p.kill();
                throw new IllegalStateException(module + " did not finish within 60 s");
            }
            LIVE.remove(p);
            return new Result(p.process.exitValue(), Files.readString(p.log));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.process.destroyForcibly();
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A finished command: its exit code and its output (stdout and stderr together). */
    public record Result(int exitCode, String output) {
    }

    private static ServiceProcess launch(String name, List<String> command, Map<String, String> env) {
        try {
            Path logs = Files.createDirectories(Path.of("target", "e2e-logs"));
            Path log = logs.resolve(name + "-" + System.nanoTime() + ".log");
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            builder.environment().putAll(env);
            ServiceProcess started = new ServiceProcess(name, builder.start(), log);
            LIVE.add(started);
            return started;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name, e);
        }
    }

    private static String javaBinary() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }

    /** Waits until {@code healthUrl} answers 200, failing early if the process died. */
    public ServiceProcess awaitHealthy(String healthUrl) {
        await(name + " healthy at " + healthUrl).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    requireAlive();
                    try {
                        return HTTP.send(HttpRequest.newBuilder(URI.create(healthUrl)).timeout(Duration.ofSeconds(2)).build(),
                                HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
                    } catch (IOException e) {
                        return false;
                    }
                });
        return this;
    }

    /** Waits until a line of the output starts with {@code prefix}, failing early if the process died. */
    public ServiceProcess awaitOutputLine(String prefix, Duration timeout) {
        await(name + " prints '" + prefix + "'").atMost(timeout).pollInterval(Duration.ofMillis(100)).until(() -> {
            if (output().lines().anyMatch(line -> line.startsWith(prefix))) {
                return true;
            }
            requireAlive();
            return false;
        });
        return this;
    }

    private void requireAlive() {
        if (!process.isAlive()) {
            throw new IllegalStateException(name + " exited with " + process.exitValue() + ":\n" + output());
        }
    }

    /** The operating system's process id. */
    public long pid() {
        return process.pid();
    }

    /** The name given at start (its log file starts with it). */
    public String name() {
        return name;
    }

    /** SIGKILL: the process gets no chance to finish anything. Waits until it is gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException(name + " (pid " + pid() + ") survived SIGKILL for 10 s");
        }
        LIVE.remove(this);
    }

    /**
     * SIGTERM (through the process handle, as {@code kill -TERM}), then waits for the exit.
     *
     * @return whether it exited within {@code timeout}
     */
    public boolean terminate(Duration timeout) throws InterruptedException {
        requestStop();
        return awaitExit(timeout);
    }

    /** SIGTERM (after SIGCONT when paused), without waiting. */
    public void requestStop() {
        if (paused) {
            resume();
        }
        process.toHandle().destroy();
    }

    /** Waits up to {@code timeout} for the process to exit; returns whether it did. */
    public boolean awaitExit(Duration timeout) throws InterruptedException {
        boolean exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (exited) {
            LIVE.remove(this);
        }
        return exited;
    }

    /**
     * SIGSTOP: the process freezes; the kernel still accepts connections on its ports, nothing
     * answers them. Undo with {@link #resume()}.
     */
    public void pause() {
        signal("STOP");
        paused = true;
    }

    /** SIGCONT after {@link #pause()}. */
    public void resume() {
        signal("CONT");
        paused = false;
    }

    private void signal(String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid())).redirectErrorStream(true).start();
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -" + signal + " " + pid() + " failed: "
                        + new String(kill.getInputStream().readAllBytes()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run kill -" + signal, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Whether the process is running (a paused one counts as running). */
    public boolean isAlive() {
        return process.isAlive();
    }

    /** The exit status, once it has exited. */
    public int exitValue() {
        return process.exitValue();
    }

    /** Where its output goes. */
    public Path log() {
        return log;
    }

    /** Everything it has printed so far (stdout and stderr). */
    public String output() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no output: " + e.getMessage() + ")";
        }
    }

    /** Stops it: SIGCONT when paused, SIGTERM, and SIGKILL if it is still running 10 s later. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive() && !terminate(Duration.ofSeconds(10))) {
            kill();
        }
        LIVE.remove(this);
    }
}
