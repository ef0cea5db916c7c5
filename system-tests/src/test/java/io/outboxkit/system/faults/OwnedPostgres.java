package io.outboxkit.system.faults;

import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.system.ServiceProcess;
import io.outboxkit.system.TestDatabase;
import io.outboxkit.testing.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.jdbi.v3.core.Jdbi;

/**
 * A PostgreSQL server the test owns, so it may stop and restart it: the dev-postgres jar as a
 * process, on its own free port and a temporary data directory (database, user and password
 * {@code outbox}, as dev-postgres's bootstrap creates them). Never the shared server.
 *
 * <p>{@link #close()} stops it, also a PostgreSQL left running by a killed dev-postgres, and
 * deletes the data directory. Not thread-safe.
 */
public final class OwnedPostgres implements TestDatabase, AutoCloseable {

    /** dev-postgres's role, password and database (see io.outboxkit.devpostgres.DevPostgres). */
    static final String ROLE = "outbox";
    static final String DATABASE = "outbox";
    private static final Duration START_LIMIT = Duration.ofSeconds(90);

    private final String label;
    private final int port = FreePorts.pick();
    private final Path dataDir;
    private ServiceProcess process;
    private HikariDataSource pool;
    private Jdbi jdbi;
    private int starts;

    private OwnedPostgres(String label, Path dataDir) {
        this.label = label;
        this.dataDir = dataDir;
    }

    /** Starts a fresh server (initdb, role, database, migrations) and waits until it is ready. */
    public static OwnedPostgres start(String label) {
        Path dataDir;
        try {
            dataDir = Files.createTempDirectory("outboxkit-" + label + "-pg-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        OwnedPostgres postgres = new OwnedPostgres(label, dataDir);
        try {
            postgres.startAgain();
            HikariConfig config = new HikariConfig();
            config.setJdbcUrl(postgres.url());
            config.setUsername(ROLE);
            config.setPassword(ROLE);
            config.setMaximumPoolSize(3);
            config.setMinimumIdle(0);
            config.setConnectionTimeout(3_000);
            config.setPoolName("test-" + label);
            postgres.pool = new HikariDataSource(config);
            postgres.jdbi = Jdbi.create(postgres.pool);
            return postgres;
        } catch (RuntimeException e) {
            postgres.close();
            throw e;
        }
    }

    /** Starts dev-postgres again on the same port and data directory; waits for its ready line. */
    public void startAgain() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("dev-postgres is still running");
        }
        process = ServiceProcess.start("dev-postgres", label + "-dev-postgres-" + (++starts),
                Map.of("PORT", Integer.toString(port), "DATA_DIR", dataDir.toString()));
        process.awaitOutputLine("dev-postgres: ready on port " + port, START_LIMIT);
    }

    /**
     * SIGTERM to dev-postgres, which stops PostgreSQL (a fast shutdown: sessions are ended), and
     * waits for it to exit.
     *
     * @return how long the stop took
     * @throws AssertionError when it is still running after {@code limit}
     */
    public Duration stop(Duration limit) throws InterruptedException {
        long start = System.nanoTime();
        if (!process.terminate(limit)) {
            throw new AssertionError("dev-postgres did not exit within " + limit + " of SIGTERM:\n" + process.output());
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /**
     * Crashes PostgreSQL: SIGQUIT to the postmaster, its immediate shutdown, which writes nothing
     * more (no checkpoint, no flush of WAL not yet flushed) and is recovered from the WAL at the
     * next start, as after a power cut. Then stops the dev-postgres process left without its
     * server, so that {@link #startAgain()} can start one on the same data.
     *
     * @throws AssertionError when the postmaster or dev-postgres is still running after {@code limit}
     */
    public void crash(Duration limit) throws InterruptedException {
        ProcessHandle postmaster = postmaster().orElseThrow(() -> new AssertionError("no postmaster running on " + dataDir));
        try {
            new ProcessBuilder("kill", "-QUIT", Long.toString(postmaster.pid())).start().waitFor();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        await("the postmaster exits after SIGQUIT").atMost(limit).until(() -> !postmaster.isAlive());
        if (!process.terminate(limit)) {
            throw new AssertionError("dev-postgres did not exit within " + limit + " of SIGTERM:\n" + process.output());
        }
    }

    /** The dev-postgres process now (a new one after each start). */
    public ServiceProcess process() {
        return process;
    }

    @Override
    public String url() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE;
    }

    @Override
    public String user() {
        return ROLE;
    }

    @Override
    public String password() {
        return ROLE;
    }

    @Override
    public Jdbi jdbi() {
        return jdbi;
    }

    /** Stops dev-postgres and any PostgreSQL left running on the data directory, then deletes the directory. */
    @Override
    public void close() {
        try {
            if (pool != null) {
                pool.close();
            }
            if (process != null && process.isAlive()) {
                process.close();
            }
            stopLeftoverPostmaster();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            deleteDataDir();
        }
    }

    /** A postmaster whose dev-postgres was killed keeps running: a fast shutdown (SIGINT), as run.sh does. */
    private void stopLeftoverPostmaster() {
        postmaster().ifPresent(h -> {
            try {
                new ProcessBuilder("kill", "-INT", Long.toString(h.pid())).start().waitFor();
                await("leftover postmaster " + h.pid() + " exits").atMost(Duration.ofSeconds(20)).until(() -> !h.isAlive());
            } catch (IOException e) {
                h.destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** The running postmaster of this server's data directory, if any (from its pid file). */
    private Optional<ProcessHandle> postmaster() {
        Path pidFile = dataDir.resolve("postmaster.pid");
        if (!Files.isRegularFile(pidFile)) {
            return Optional.empty();
        }
        try (Stream<String> lines = Files.lines(pidFile)) {
            return lines.findFirst().map(String::trim).filter(s -> s.matches("\\d+"))
                    .flatMap(pid -> ProcessHandle.of(Long.parseLong(pid)))
                    .filter(h -> h.info().commandLine().map(c -> c.contains(dataDir.toString())).orElse(false));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private void deleteDataDir() {
        try (Stream<Path> paths = Files.walk(dataDir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temporary directory is not worth failing a test for
        }
    }
}
