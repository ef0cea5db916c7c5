package io.outboxkit.bench;

import io.outboxkit.app.ServiceSchema;
import io.outboxkit.core.OutboxNames;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The bench's own database: dropped and created afresh, migrated, and helpers to fill, empty and
 * inspect it. Never touches any other database.
 */
final class BenchDb {

    private final String host;
    private final int port;
    private final String user;
    private final String name;
    private final Path root;

    /** {@code root}: the repository, whose services' own migrations the bench applies from their sources. */
    BenchDb(String host, int port, String user, String name, Path root) {
        if (!name.matches("[a-z_][a-z0-9_]*") || name.equals("test") || name.equals("postgres")) {
            throw new IllegalArgumentException("refusing to use database '" + name + "' for benchmarks");
        }
        this.host = host;
        this.port = port;
        this.user = user;
        this.name = name;
        this.root = root;
    }

    String name() {
        return name;
    }

    String host() {
        return host;
    }

    int port() {
        return port;
    }

    String user() {
        return user;
    }

    String jdbcUrl() {
        return "jdbc:postgresql://" + host + ":" + port + "/" + name;
    }

    /**
     * Drops the bench database if it exists, creates it, and applies what the services migrate at
     * start: outbox-core's tables, the order service's and the consumer's own.
     */
    void recreate() throws SQLException {
        try (Connection admin = connect("postgres"); Statement st = admin.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
            st.execute("CREATE DATABASE " + name);
        }
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(jdbcUrl());
        ds.setUser(user);
        schema("order_service", "order-service").apply(ds);
        schema("consumer", "consumer").apply(ds);
    }

    private ServiceSchema schema(String owner, String module) {
        Path location = root.resolve(module).resolve("src/main/resources/db").resolve(module);
        return ServiceSchema.withOwnTables(OutboxNames.DEFAULT, owner, "filesystem:" + location);
    }

    /** Drops the bench database (at the end of a run). */
    void drop() throws SQLException {
        try (Connection admin = connect("postgres"); Statement st = admin.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        }
    }

    Connection connect() throws SQLException {
        return connect(name);
    }

    private Connection connect(String database) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        String password = System.getenv("PGPASSWORD");
        if (password != null) {
            props.setProperty("password", password);
        }
        return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + database, props);
    }

    /** Empties every table the benchmarks write, and vacuums them, so each phase starts alike. */
    void reset() throws SQLException {
        try (Connection c = connect(); Statement st = c.createStatement()) {
            st.execute("TRUNCATE outbox, processed_messages, orders, idempotency_keys, customer_totals, "
                    + "consumer_order_status, consumer_ordering_violations");
            st.execute("VACUUM ANALYZE outbox, processed_messages, orders, customer_totals, consumer_order_status");
            st.execute("CHECKPOINT");
        }
    }

    /**
     * A message id ordered in time like {@code OutboxWriter}'s UUIDv7 (48 bits of milliseconds
     * first, as in {@code order_outbox_bare.sql}): a table's later rows sit at the right edge of
     * its primary key, as they do in a real outbox. Random ids would scatter each claim's and each
     * mark's primary-key lookups over the whole index, which grows with the rows kept.
     */
    private static final String TIME_ORDERED_ID = "encode(overlay(uuid_send(gen_random_uuid()) PLACING "
            + "substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 'hex')::uuid";

    /**
     * Writes {@code count} OrderCreated messages, for {@code users} customers, in one transaction,
     * as the order service would have (the orders themselves are not needed downstream). Returns
     * {@link System#nanoTime()} at its commit, when a relay can first see the messages.
     */
    long writeBacklog(int count, int users) throws SQLException {
        try (Connection c = connect(); Statement st = c.createStatement()) {
            st.execute("""
                    INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, headers)
                    SELECT %s, 'Order', s.o::text, 'OrderCreated',
                           jsonb_build_object('order_id', s.o, 'user_id', s.u, 'amount', s.a, 'status', 'CREATED',
                                              'created_at', '2026-11-26T15:00:00.123456Z'), '{}'
                    FROM (SELECT gen_random_uuid() AS o,
                                 ('00000000-0000-4000-8000-' || lpad((g %% %d)::text, 12, '0'))::uuid AS u,
                                 ((g %% 100000) + 1) / 100.0 AS a
                          FROM generate_series(1, %d) g) s""".formatted(TIME_ORDERED_ID, users, count));
            long committed = System.nanoTime();
            st.execute("ANALYZE outbox");
            return committed;
        }
    }

    /** The process ids of the PostgreSQL backends connected to this database, but for the one asking. */
    List<Long> backendPids() throws SQLException {
        List<Long> pids = new ArrayList<>();
        try (Connection c = connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pid FROM pg_stat_activity "
                     + "WHERE datname = current_database() AND pid <> pg_backend_pid()")) {
            while (rs.next()) {
                pids.add(rs.getLong(1));
            }
        }
        return pids;
    }

    /**
     * Adds {@code count} PUBLISHED messages, published now (so that retention keeps them), in
     * transactions of at most a million rows, and vacuums the outbox: what a busy outbox with a
     * long retention window holds besides its pending messages.
     */
    void writePublished(long count, int users) throws SQLException {
        try (Connection c = connect(); Statement st = c.createStatement()) {
            for (long written = 0; written < count; written += 1_000_000) {
                st.execute("""
                        INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, headers, status,
                                            attempts, published_at)
                        SELECT %s, 'Order', s.o::text, 'OrderCreated',
                               jsonb_build_object('order_id', s.o, 'user_id', s.u, 'amount', s.a, 'status', 'CREATED',
                                                  'created_at', '2026-11-26T15:00:00.123456Z'), '{}', 'PUBLISHED', 1, now()
                        FROM (SELECT gen_random_uuid() AS o,
                                     ('00000000-0000-4000-8000-' || lpad((g %% %d)::text, 12, '0'))::uuid AS u,
                                     ((g %% 100000) + 1) / 100.0 AS a
                              FROM generate_series(1, %d) g) s""".formatted(TIME_ORDERED_ID, users,
                        Math.min(1_000_000, count - written)));
            }
            st.execute("VACUUM ANALYZE outbox");
            // Rows kept by retention accumulate over days, written out by many checkpoints; loaded at
            // once, their gigabyte of dirty pages would be written out during the measurement after.
            st.execute("CHECKPOINT");
        }
    }

    long queryLong(String sql) throws SQLException {
        try (Connection c = connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    void execute(String sql) throws SQLException {
        try (Connection c = connect(); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    /** Total size (heap, indexes, TOAST) and live and dead tuples of {@code table}. */
    Map<String, Long> health(String table) throws SQLException {
        Map<String, Long> health = new LinkedHashMap<>();
        try (Connection c = connect(); Statement st = c.createStatement()) {
            st.execute("SELECT pg_stat_clear_snapshot()");
            try (ResultSet rs = st.executeQuery("SELECT pg_total_relation_size('" + table + "'), "
                    + "n_live_tup, n_dead_tup FROM pg_stat_user_tables WHERE relname = '" + table + "'")) {
                rs.next();
                health.put("bytes", rs.getLong(1));
                health.put("live", rs.getLong(2));
                health.put("dead", rs.getLong(3));
            }
        }
        return health;
    }

    /** The server's version string. */
    String serverVersion() throws SQLException {
        try (Connection c = connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW server_version")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** A setting of the server. */
    String setting(String name) throws SQLException {
        try (Connection c = connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_setting('" + name + "')")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
