package io.outboxkit.testing;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Gives a test class its own fresh PostgreSQL database, set up with the tables its code needs.
 *
 * <p>Register it on a static field: {@code @RegisterExtension static final PostgresExtension db =
 * new PostgresExtension(setup);}, where the {@link DatabaseSetup} creates the tables. The server is {@code OUTBOX_TEST_DB_URL} (user and password in the
 * URL or in {@code OUTBOX_TEST_DB_USER} / {@code OUTBOX_TEST_DB_PASSWORD}) when that is set, and
 * fails loudly when it cannot be reached; otherwise Testcontainers' PostgreSQL when a Docker engine
 * answers; otherwise an embedded PostgreSQL. The database is created before the class's first test
 * and dropped after its last.
 */
public final class PostgresExtension implements BeforeAllCallback, AfterAllCallback {

    /** The password of the roles {@link #createLoginRole} makes. */
    public static final String ROLE_PASSWORD = "outbox-test";

    private static final AtomicInteger POOLS = new AtomicInteger();

    private final DatabaseSetup setup;
    private final int poolSize;
    private PostgresServer server;
    private String database;
    private HikariDataSource dataSource;
    private Jdbi jdbi;

    /** A database set up by {@code setup}, served through a pool of 16 connections. */
    public PostgresExtension(DatabaseSetup setup) {
        this(setup, 16);
    }

    /** A database set up by {@code setup}, served through a pool of {@code poolSize} connections. */
    public PostgresExtension(DatabaseSetup setup, int poolSize) {
        if (poolSize < 1) {
            throw new IllegalArgumentException("poolSize must be at least 1, was " + poolSize);
        }
        this.setup = java.util.Objects.requireNonNull(setup, "setup");
        this.poolSize = poolSize;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        server = PostgresServers.shared();
        database = "t_" + context.getRequiredTestClass().getSimpleName().toLowerCase(Locale.ROOT)
                + "_" + Long.toString(ThreadLocalRandom.current().nextLong() >>> 1, 36);
        adminExecute("CREATE DATABASE " + database);
        dataSource = newPool(poolSize);
        setup.apply(dataSource);
        jdbi = Jdbi.create(dataSource);
    }

    @Override
    public void afterAll(ExtensionContext context) throws SQLException {
        if (dataSource != null) {
            dataSource.close();
        }
        if (database != null) {
            adminExecute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
        }
    }

    private void adminExecute(String sql) throws SQLException {
        try (Connection connection = PostgresServers.connect(server, server.adminUrl());
             Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    /** The pooled data source of this class's database. */
    public DataSource dataSource() {
        return dataSource;
    }

    /**
     * A pool of its own of {@code size} connections to this class's database, for a test that
     * must know which sessions its code runs on; the caller closes it.
     */
    public HikariDataSource newPool(int size) {
        return newPool(size, config -> { });
    }

    /**
     * As {@link #newPool(int)}, with {@code configure} changing the pool's settings before it starts
     * (connections handed out with auto-commit off, say); the caller closes it.
     */
    public HikariDataSource newPool(int size, Consumer<HikariConfig> configure) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl());
        if (server.user() != null) {
            config.setUsername(server.user());
        }
        if (server.password() != null) {
            config.setPassword(server.password());
        }
        config.setMaximumPoolSize(size);
        config.setPoolName("test-" + database + "-" + POOLS.incrementAndGet());
        configure.accept(config);
        return new HikariDataSource(config);
    }

    /**
     * Creates {@code role} (dropped first if it exists), a role that logs in with
     * {@link #ROLE_PASSWORD} (the servers the tests run on may ask for one) and holds no grant yet:
     * for a test of what a role with only some grants may do. The test drops it.
     */
    public void createLoginRole(String role) {
        jdbi().useHandle(h -> {
            h.execute("DROP ROLE IF EXISTS " + role);
            h.execute("CREATE ROLE " + role + " LOGIN PASSWORD '" + ROLE_PASSWORD + "'");
        });
    }

    /**
     * A pool of its own of {@code size} connections to this class's database as {@code role}, made
     * by {@link #createLoginRole}; the caller closes it.
     */
    public HikariDataSource newPoolAs(String role, int size) {
        String url = jdbcUrl().replaceAll("([?&])(user|password)=[^&]*&?", "$1").replaceAll("[?&]$", "");
        return newPool(size, config -> {
            config.setJdbcUrl(url);
            config.setUsername(role);
            config.setPassword(ROLE_PASSWORD);
        });
    }

    /** A {@link Jdbi} over {@link #dataSource()}. */
    public Jdbi jdbi() {
        return jdbi;
    }

    /** The JDBC URL of this class's database (user and password may be separate, see {@link #user()}). */
    public String jdbcUrl() {
        return server.urlOf(database);
    }

    /**
     * The user to connect as: the configured one, else the URL's {@code user} parameter, else
     * {@code postgres}.
     */
    public String user() {
        if (server.user() != null) {
            return server.user();
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("[?&]user=([^&]*)").matcher(server.adminUrl());
        return m.find() ? java.net.URLDecoder.decode(m.group(1), java.nio.charset.StandardCharsets.UTF_8) : "postgres";
    }

    /** The password to connect with, or null when {@link #jdbcUrl()} carries it or none is needed. */
    public String password() {
        return server.password();
    }

    /**
     * {@link #user()} and {@link #password()} as the driver's connection properties, a new set at
     * each call: for connections made to {@link #jdbcUrl()} another way (through a proxy, with
     * driver settings of their own added).
     */
    public Properties login() {
        Properties login = new Properties();
        login.setProperty("user", user());
        if (password() != null) {
            login.setProperty("password", password());
        }
        return login;
    }

    /**
     * Empties every table of the current schema but the migrations' histories and the outboxes'
     * wake-up tables, for a test that wants a clean slate within its class. A wake-up table holds a
     * running poller's announcement that it waits; emptied under it, commits would stop waking it.
     */
    public void truncateAll() {
        jdbi.useHandle(h -> {
            List<String> tables = h.createQuery("""
                    SELECT format('%I', tablename) FROM pg_tables
                    WHERE schemaname = current_schema() AND tablename NOT LIKE '%schema_history'
                      AND tablename NOT LIKE '%\\_wakeup'""")
                    .mapTo(String.class).list();
            if (!tables.isEmpty()) {
                h.execute("TRUNCATE " + String.join(", ", tables));
            }
        });
    }
}
