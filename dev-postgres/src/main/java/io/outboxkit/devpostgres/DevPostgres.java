package io.outboxkit.devpostgres;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;

/**
 * A running development PostgreSQL: an embedded server whose data directory survives restarts,
 * with the {@code outbox} role and database and the project's schema. {@link #close()} stops the
 * server cleanly. Not thread-safe to close from two threads at once.
 */
public final class DevPostgres implements AutoCloseable {

    /** The role, its password and the database the services connect to (DatabaseSettings' defaults). */
    public static final String ROLE = "outbox";
    /** The role's password. */
    public static final String PASSWORD = "outbox";
    /** The services' database, owned by {@link #ROLE}. */
    public static final String DATABASE = "outbox";

    private static final Duration STARTUP_WAIT = Duration.ofSeconds(60);

    private final EmbeddedPostgres postgres;
    private final DevPostgresSettings settings;

    private DevPostgres(EmbeddedPostgres postgres, DevPostgresSettings settings) {
        this.postgres = postgres;
        this.settings = settings;
    }

    /**
     * Starts PostgreSQL on {@code settings}' port with its data directory (initialised on the first
     * start only), and creates the role and database when missing. The services create their tables
     * themselves, each migrating what it owns.
     *
     * @throws DevPostgresException when the port is taken (exit status 2) or the server cannot start
     *                              or be prepared; its message is one line saying why
     */
    public static DevPostgres start(DevPostgresSettings settings) {
        requirePortFree(settings);
        EmbeddedPostgres postgres = startServer(settings);
        try {
            Bootstrap.ensureRoleAndDatabase(postgres.getPostgresDatabase());
        } catch (SQLException e) {
            closeQuietly(postgres);
            throw new DevPostgresException("cannot prepare the outbox database: " + rootMessage(e),
                    DevPostgresException.EXIT_START_FAILED, e);
        }
        return new DevPostgres(postgres, settings);
    }

    private static EmbeddedPostgres startServer(DevPostgresSettings settings) {
        try {
            Files.createDirectories(settings.dataDirectory());
            return EmbeddedPostgres.builder()
                    .setPort(settings.port())
                    .setDataDirectory(settings.dataDirectory())
                    .setCleanDataDirectory(false)
                    .setRegisterShutdownHook(false)
                    .setPGStartupWait(STARTUP_WAIT)
                    // The embedded defaults favour throw-away test databases; this one keeps its data.
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    .start();
        } catch (IOException | RuntimeException e) {
            throw new DevPostgresException("cannot start PostgreSQL on port " + settings.port() + " with data in "
                    + settings.dataDirectory() + ": " + rootMessage(e), DevPostgresException.EXIT_START_FAILED, e);
        }
    }

    /** Refuses a port something already listens on, before PostgreSQL fails on it less clearly. */
    static void requirePortFree(DevPostgresSettings settings) {
        int port = settings.port();
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        } catch (IOException e) {
            Path pidFile = settings.dataDirectory().resolve("postmaster.pid");
            String leftOver = Files.exists(pidFile)
                    ? " (" + pidFile + " exists: a PostgreSQL left running by an earlier start? stop that process)"
                    : " (another PostgreSQL or dev-postgres?)";
            throw new DevPostgresException("port " + port + " is already in use" + leftOver
                    + "; stop it or choose another port with PORT", DevPostgresException.EXIT_BAD_CONFIG, e);
        }
    }

    /** The port PostgreSQL listens on. */
    public int port() {
        return postgres.getPort();
    }

    /** The JDBC URL of the outbox database (connect as {@link #ROLE} with {@link #PASSWORD}). */
    public String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + port() + "/" + DATABASE;
    }

    /** The settings it was started with. */
    public DevPostgresSettings settings() {
        return settings;
    }

    /** Stops PostgreSQL (a fast shutdown: open sessions are ended, committed data is kept). */
    @Override
    public void close() throws IOException {
        postgres.close();
    }

    private static void closeQuietly(EmbeddedPostgres postgres) {
        try {
            postgres.close();
        } catch (IOException | RuntimeException e) {
            // the failure being reported matters more
        }
    }

    /**
     * The root cause's message on one line. Not outbox-core's Causes on purpose: this
     * launcher depends on nothing of the services (their pool, web server, JSON), only PostgreSQL.
     */
    static String rootMessage(Throwable e) {
        Throwable t = e;
        for (int depth = 0; t.getCause() != null && depth < 100; depth++) { // bounded: a chain may be a cycle
            t = t.getCause();
        }
        String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return message.replaceAll("\\s*\\R\\s*", " ").trim();
    }
}
