package io.outboxkit.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** One service (order-service, consumer, outbox-relay) running as a process from its jar. */
final class Service implements AutoCloseable {

    private static final java.util.concurrent.atomic.AtomicInteger STARTS = new java.util.concurrent.atomic.AtomicInteger();
    /**
     * The services' JVM options, as run.sh gives them (a java argument file), followed by those of
     * the service alone ({@code <jar name>.options} beside it), when it has some.
     */
    private static volatile Path jvmOptions = Path.of("ops/jvm/services.options");

    /** Extra JVM options for every service the bench starts, separated by spaces (they come last, so they win). */
    static final String EXTRA_OPTIONS = "BENCH_SERVICE_JAVA_OPTS";
    /** The jars whose class archive a running service writes when it exits: one writer per archive. */
    private static final java.util.Set<Path> ARCHIVING = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final String name;
    private final Process process;
    private final int port;

    private Service(String name, Process process, int port) {
        this.name = name;
        this.process = process;
        this.port = port;
    }

    /**
     * Starts {@code jar} with {@code env} plus the bench database and a free {@code PORT}; waits
     * until {@code GET /health} answers 200. Its output goes to {@code logs/<name>.log}.
     */
    static Service start(String name, Path jar, BenchDb db, Map<String, String> env, Path logs, Path jfr)
            throws IOException, InterruptedException {
        return start(name, jar, db, env, logs, jfr, List.of());
    }

    /** As {@link #start(String, Path, BenchDb, Map, Path, Path)}, with {@code options} after the JVM options of every service. */
    static Service start(String name, Path jar, BenchDb db, Map<String, String> env, Path logs, Path jfr,
                         List<String> options) throws IOException, InterruptedException {
        int port = freePort();
        List<String> command = new ArrayList<>(List.of("java", "@" + jvmOptions));
        Path own = jvmOptions.resolveSibling(jar.getFileName().toString().replaceFirst("\\.jar$", "") + ".options");
        if (Files.isRegularFile(own)) {
            command.add("@" + own);
        }
        if (jfr == null) {
            // JDK 17.0.15 crashed at start (SIGSEGV in KlassFactory::check_shared_class_file_load_hook)
            // recording JFR with a dynamic class archive: a profiled service starts without one.
            command.addAll(classArchive(jar, logs.resolveSibling("cds")));
        }
        String extra = System.getenv(EXTRA_OPTIONS);
        if (extra != null && !extra.isBlank()) {
            command.addAll(List.of(extra.trim().split("\\s+")));
        }
        command.addAll(options);
        if (jfr != null) {
            // JDBI records a JFR event per statement when a recording is on: switched off, so that the
            // profile shows the services' work rather than the recording's.
            command.addAll(recording(jfr.resolve(String.format("%02d-%s.jfr", STARTS.incrementAndGet(), name)),
                    "jdbi.statement#enabled=false,"));
        }
        Files.createDirectories(logs);
        // GC pauses, timestamped, to set beside the latency outliers' times.
        command.add("-Xlog:gc:file=" + logs.resolve(name + "-gc.log") + ":time,uptime");
        command.addAll(List.of("-jar", jar.toString()));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("DB_URL", db.jdbcUrl());
        builder.environment().put("DB_USER", db.user());
        builder.environment().put("DB_PASSWORD", System.getenv().getOrDefault("PGPASSWORD", "unused"));
        builder.environment().put("PORT", Integer.toString(port));
        builder.environment().put("BIND_HOST", "127.0.0.1");
        builder.environment().putAll(env);
        Files.createDirectories(logs);
        builder.redirectErrorStream(true).redirectOutput(logs.resolve(name + ".log").toFile());
        Service service = new Service(name, builder.start(), port);
        service.awaitHealthy(Duration.ofSeconds(60));
        return service;
    }

    /** Starts every service with the JVM options of {@code root}'s {@code ops/jvm}, as run.sh does. */
    static void useJvmOptionsOf(Path root) {
        jvmOptions = root.resolve("ops/jvm/services.options");
    }

    /**
     * The Class Data Sharing options for {@code jar}, as run.sh gives its services: the archive in
     * {@code dir} of an earlier start of this very jar, or, when there is none yet (or the jar was
     * rebuilt since), the instruction to write it when this process exits. Only one process at a
     * time writes an archive; others start without one.
     */
    static List<String> classArchive(Path jar, Path dir) throws IOException {
        Path archive = archiveOf(jar, dir);
        if (hasArchive(jar, dir)) {
            return List.of("-XX:SharedArchiveFile=" + archive);
        }
        Files.createDirectories(dir);
        if (!ARCHIVING.add(archive)) {
            return List.of();
        }
        Files.deleteIfExists(archive);
        return List.of("-XX:ArchiveClassesAtExit=" + archive);
    }

    /** Whether {@code dir} has a class archive written by an earlier start of {@code jar} as it is now. */
    static boolean hasArchive(Path jar, Path dir) throws IOException {
        Path archive = archiveOf(jar, dir);
        return Files.isRegularFile(archive)
                && Files.getLastModifiedTime(archive).compareTo(Files.getLastModifiedTime(jar)) > 0;
    }

    private static Path archiveOf(Path jar, Path dir) {
        return dir.resolve(jar.getFileName().toString().replaceFirst("\\.jar$", "") + ".jsa");
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    private void awaitHealthy(Duration limit) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException(name + " exited with status " + process.exitValue() + " at start (see its log)");
            }
            try {
                HttpResponse<Void> response = HTTP.send(HttpRequest.newBuilder(URI.create(url("/health")))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (response.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(100); // polling a starting process's health: no event to wait on
        }
        close();
        throw new IOException(name + " did not become healthy within " + limit.toSeconds() + " s");
    }

    /** SIGTERM, then SIGKILL after 20 seconds. */
    @Override
    public void close() throws InterruptedException {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /**
     * The JVM options that record a JFR profile of a process the bench starts into {@code file}
     * (its folder created), with {@code settings} (each followed by a comma) besides the profile's:
     * CPU samples every 5 ms instead of 10 to 20 (a quick run's drain lasts only seconds), and stacks
     * deep enough to reach the handler under Jetty's frames (64 cut them off).
     */
    static List<String> recording(Path file, String settings) throws IOException {
        Files.createDirectories(file.getParent());
        return List.of("-XX:FlightRecorderOptions:stackdepth=256", "-XX:StartFlightRecording=settings=profile,"
                + settings + "jdk.ExecutionSample#period=5ms,filename=" + file + ",dumponexit=true");
    }
}
