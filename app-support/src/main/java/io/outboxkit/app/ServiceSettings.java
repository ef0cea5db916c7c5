package io.outboxkit.app;

import io.outboxkit.core.spi.Causes;
import java.net.BindException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a service listens and how many connections its database pool holds, read from
 * {@code PORT}, a host variable ({@code BIND_HOST}; the relay's admin server: {@code ADMIN_HOST})
 * and {@code DB_POOL_SIZE} by the same rules in every service. A service may demand more (the
 * relay a pool of at least {@code WORKERS} + 3) and says so itself.
 *
 * @param host     the address to listen on: an IP address, or a host name that resolves
 * @param port     the TCP port, 0 to {@value #MAX_PORT}; 0 picks any free port (what tests use)
 * @param poolSize the database pool's connections, {@value #MIN_POOL_SIZE} to {@value #MAX_POOL_SIZE}
 */
public record ServiceSettings(String host, int port, int poolSize) {

    /** The variable of the address a service's API listens on. */
    public static final String BIND_HOST = "BIND_HOST";
    /** The default {@code BIND_HOST}: every interface. */
    public static final String DEFAULT_BIND_HOST = "0.0.0.0";
    /** The highest {@code PORT}. */
    public static final int MAX_PORT = 65_535;
    /** The smallest {@code DB_POOL_SIZE}. */
    public static final int MIN_POOL_SIZE = 1;
    /** The largest {@code DB_POOL_SIZE}: twice PostgreSQL's default {@code max_connections}. */
    public static final int MAX_POOL_SIZE = 200;

    /**
     * Checks the ranges.
     *
     * @throws IllegalArgumentException when port or poolSize is out of range
     * @throws NullPointerException     when host is null
     */
    public ServiceSettings {
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > MAX_PORT) {
            throw new IllegalArgumentException("port must be 0 to " + MAX_PORT + ", was " + port);
        }
        if (poolSize < MIN_POOL_SIZE || poolSize > MAX_POOL_SIZE) {
            throw new IllegalArgumentException("poolSize must be " + MIN_POOL_SIZE + " to " + MAX_POOL_SIZE
                    + ", was " + poolSize);
        }
    }

    /**
     * Reads {@code PORT}, {@code hostVariable} and {@code DB_POOL_SIZE}, each with its default.
     *
     * @throws ConfigException naming the first variable that is out of range, not a number, or
     *                         (the host) neither an address nor a host name that resolves
     */
    public static ServiceSettings from(Env env, String hostVariable, String defaultHost, int defaultPort,
                                       int defaultPoolSize) {
        String host = env.string(hostVariable, defaultHost);
        int port = env.integer("PORT", defaultPort, 0, MAX_PORT);
        int poolSize = env.integer("DB_POOL_SIZE", defaultPoolSize, MIN_POOL_SIZE, MAX_POOL_SIZE);
        try {
            InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new ConfigException(hostVariable + "=" + host + " is not an address or a host name that resolves");
        }
        return new ServiceSettings(host, port, poolSize);
    }

    /**
     * A failed start as its user should read it: a {@link ConfigException} among the causes of
     * {@code failure} (one the server's own parts raised, naming their variable: {@code HEALTH_PORT});
     * else, when the server could not listen where these settings say (a {@link BindException} among
     * the causes), a {@link ConfigException} naming the address and the variable to change
     * ("PORT=8080 is already in use on BIND_HOST=0.0.0.0: ..."); any other failure as it is.
     *
     * @param hostVariable the variable these settings' host came from ({@link #BIND_HOST}, the relay's {@code ADMIN_HOST})
     */
    public RuntimeException explainStartFailure(String hostVariable, RuntimeException failure) {
        Optional<ConfigException> named = Causes.find(failure, ConfigException.class);
        if (named.isPresent()) {
            return named.get();
        }
        return Causes.find(failure, BindException.class).<RuntimeException>map(bind -> {
            if (String.valueOf(bind.getMessage()).contains("in use")) {
                return new ConfigException("PORT=" + port + " is already in use on " + hostVariable + "=" + host
                        + ": stop the process that listens there, or set PORT to a free port", failure);
            }
            return new ConfigException("cannot listen on " + host + ":" + port + ": " + bind.getMessage()
                    + " (check " + hostVariable + ", an address of this machine, and PORT)", failure);
        }).orElse(failure);
    }
}
