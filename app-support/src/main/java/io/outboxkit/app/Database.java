package io.outboxkit.app;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import io.outboxkit.core.spi.Causes;
import io.outboxkit.core.workaround.PgjdbcPromptNotificationSocketFactory;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Objects;
import javax.sql.DataSource;
import org.flywaydb.core.api.FlywayException;
import org.jdbi.v3.core.Jdbi;

/**
 * A service's database: a connection pool, the schema brought up to date at open, and a
 * {@link Jdbi} over it. Connections time out quickly, so a request made while PostgreSQL is
 * down fails within seconds instead of hanging; the pool reconnects by itself when it is back.
 *
 * <p>A statement's answer is waited for as long as the longest statement the caller declares at
 * open (at least {@link #DEFAULT_LONGEST_STATEMENT}), plus {@link #ANSWER_MARGIN}: 30 s unless
 * declared longer. A connection whose answer takes longer is taken for a lost server, and the
 * statement fails with an I/O error while PostgreSQL may still be running it; a statement whose
 * {@code statement_timeout} is within the declared time gets PostgreSQL's cancel instead.
 */
public final class Database implements AutoCloseable {

    /** The longest statement a caller that declares none may run: 20 s. */
    public static final Duration DEFAULT_LONGEST_STATEMENT = Duration.ofSeconds(20);
    /**
     * How much longer than the longest statement a connection waits for its answer: 10 s, for
     * PostgreSQL's cancel of a statement at its {@code statement_timeout} to reach the client.
     */
    public static final Duration ANSWER_MARGIN = Duration.ofSeconds(10);

    /** The connections a migration holds at once: Flyway's and the script's. */
    private static final int MIGRATION_POOL_SIZE = 2;

    private final HikariDataSource dataSource;
    private final Jdbi jdbi;
    private final HealthConnection health;

    private Database(HikariDataSource dataSource, DatabaseSettings settings) {
        this.dataSource = dataSource;
        this.jdbi = Jdbi.create(dataSource);
        this.health = new HealthConnection(settings);
    }

    /**
     * Connects, and migrates {@code schema}: outbox-core's tables and the service's own (safe when
     * several services start at once). The migration runs on connections of its own, closed before
     * the pool of {@code poolSize} opens, so any size of at least 1 suffices. Its statements may run
     * up to {@link #DEFAULT_LONGEST_STATEMENT}.
     *
     * @throws ConfigException when PostgreSQL cannot be reached or refuses the login, or the schema
     *                         cannot be migrated; the message says which, without the password
     */
    public static Database open(DatabaseSettings settings, String poolName, int poolSize, ServiceSchema schema) {
        return open(settings, poolName, poolSize, schema, DEFAULT_LONGEST_STATEMENT);
    }

    /**
     * As {@link #open(DatabaseSettings, String, int, ServiceSchema)}, for a caller whose statements
     * may run up to {@code longestStatement} (the {@code statement_timeout} it gives them): each is
     * waited for that long and {@link #ANSWER_MARGIN} more.
     *
     * @throws ConfigException when PostgreSQL cannot be reached or refuses the login, or the schema
     *                         cannot be migrated; the message says which, without the password
     * @throws IllegalArgumentException when {@code longestStatement} is negative
     */
    public static Database open(DatabaseSettings settings, String poolName, int poolSize, ServiceSchema schema,
                                Duration longestStatement) {
        // A pool of its own, closed before the service's opens: Flyway holds a second connection
        // while it migrates, which a service pool of one (DB_POOL_SIZE=1) never frees.
        try (Database migrating = connect(settings, poolName + "-migration", MIGRATION_POOL_SIZE, longestStatement)) {
            schema.apply(migrating.dataSource);
        } catch (FlywayException e) {
            throw new ConfigException("cannot migrate the schema at " + settings.redactedUrl() + ": " + Causes.rootMessage(e));
        }
        return connect(settings, poolName, poolSize, longestStatement);
    }

    /**
     * Connects, changing nothing in the database (for a tool that must not migrate it).
     *
     * @throws ConfigException when PostgreSQL cannot be reached or refuses the login; the message
     *                         says which, without the password
     */
    public static Database connect(DatabaseSettings settings, String poolName, int poolSize) {
        return connect(settings, poolName, poolSize, DEFAULT_LONGEST_STATEMENT);
    }

    private static Database connect(DatabaseSettings settings, String poolName, int poolSize, Duration longestStatement) {
        long socketTimeout = socketTimeoutSeconds(longestStatement);
        HikariConfig config = new HikariConfig();
        // The password never travels in the URL: the driver logs URLs (at FINE), the pool echoes them.
        config.setJdbcUrl(settings.urlWithoutPassword());
        config.setUsername(settings.user());
        config.setPassword(settings.effectivePassword());
        config.setPoolName(poolName);
        config.setMaximumPoolSize(poolSize);
        config.setConnectionTimeout(2_000);
        config.setValidationTimeout(1_000);
        config.setInitializationFailTimeout(10_000);
        config.addDataSourceProperty("connectTimeout", "3");
        config.addDataSourceProperty("socketTimeout", Long.toString(socketTimeout));
        config.addDataSourceProperty("tcpKeepAlive", "true");
        // A statement's cancel goes on a connection of its own and waits for the server's answer, 10 s by
        // default on a silent database; the statement's thread waits for it. A stop (a requeue's Ctrl-C)
        // must keep to its few seconds; the server's statement_timeout still ends what a lost cancel did not.
        config.addDataSourceProperty("cancelSignalTimeout", "2");
        // A poller's LISTEN connection then wakes it at each notification, not 1 ms after the last
        // of a stream; connections that do not LISTEN read as on plain sockets. DB_URL may name another.
        config.addDataSourceProperty("socketFactory", PgjdbcPromptNotificationSocketFactory.class.getName());
        HikariDataSource dataSource;
        try {
            dataSource = new HikariDataSource(config);
        } catch (HikariPool.PoolInitializationException e) {
            throw new ConfigException("cannot connect to PostgreSQL at " + settings.redactedUrl() + " as user "
                    + settings.effectiveUser() + ": " + driverMessage(e) + " (check DB_URL, DB_USER, DB_PASSWORD)");
        } catch (RuntimeException e) {
            // The pool found no driver for the URL (a bad port, say): the driver refused its form.
            throw new ConfigException("DB_URL=" + settings.redactedUrl() + " is not a URL the PostgreSQL driver "
                    + "accepts (expected jdbc:postgresql://host:port/database): " + Causes.rootMessage(e));
        }
        return new Database(dataSource, settings);
    }

    /**
     * The driver's {@code socketTimeout}: how many seconds a connection waits for an answer, the
     * longest statement (at least {@link #DEFAULT_LONGEST_STATEMENT}) plus {@link #ANSWER_MARGIN},
     * rounded up; 0, no limit (TCP keepalive still finds a dead server), beyond the driver's
     * largest (it counts milliseconds in an int). Shorter would cut a statement before PostgreSQL
     * cancels it, leaving it running on the server with its locks while the caller sees an I/O error.
     */
    static long socketTimeoutSeconds(Duration longestStatement) {
        Objects.requireNonNull(longestStatement, "longestStatement");
        if (longestStatement.isNegative()) {
            throw new IllegalArgumentException("longestStatement must not be negative, was " + longestStatement);
        }
        Duration wait = (longestStatement.compareTo(DEFAULT_LONGEST_STATEMENT) < 0 ? DEFAULT_LONGEST_STATEMENT : longestStatement)
                .plus(ANSWER_MARGIN).plusSeconds(1).minusNanos(1);
        return wait.toSeconds() > Integer.MAX_VALUE / 1_000 ? 0 : wait.toSeconds();
    }

    /**
     * What the driver said: its own exception's message names the parameter, host or login at fault
     * ("connectTimeout parameter value must be an integer but was: abc"), where the cause beneath
     * it has only the number parser's or the socket's words.
     */
    static String driverMessage(Throwable e) {
        return Causes.find(e, SQLException.class).map(SQLException::getMessage).filter(m -> !m.isBlank())
                .orElseGet(() -> Causes.rootMessage(e));
    }

    /** The pooled data source. */
    public DataSource dataSource() {
        return dataSource;
    }

    /** A {@link Jdbi} over the pool. */
    public Jdbi jdbi() {
        return jdbi;
    }

    /**
     * Whether the database answers a trivial query within a second, asked on a connection of its
     * own outside the pool, so that requests holding every pooled connection do not read as the
     * database being down; the check is answered within about a second (about three at worst: the
     * kept connection's query times out after 1 s, a new connection's login may take another, then
     * its query one more). A reading is kept for a second, so probes however frequent cost
     * the database one query a second; a probe arriving while another checks gets the previous
     * reading. That connection is opened at the first call, reopened after a failure, and closed by
     * {@link #close()}, after which this answers false. Thread-safe.
     */
    public boolean isHealthy() {
        return health.isUp();
    }

    /** Closes the pool and the health check's connection. */
    @Override
    public void close() {
        health.close();
        dataSource.close();
    }
}
