package io.outboxkit.app.testing;

import io.outboxkit.app.Database;
import io.outboxkit.app.DatabaseSettings;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.testing.PostgresExtension;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A test class's fresh database as a service sees it: opened as a service opens it, or named in its environment. */
public final class TestDatabases {

    private TestDatabases() {
    }

    /** A {@link Database} (pool of {@code poolSize}, {@code schema} migrated) on {@code db}'s database; the caller closes it. */
    public static Database open(PostgresExtension db, int poolSize, ServiceSchema schema) {
        return Database.open(new DatabaseSettings(db.jdbcUrl(), db.user(), db.password()), "service-test", poolSize, schema);
    }

    /** {@code DB_URL}, {@code DB_USER} and, when there is one, {@code DB_PASSWORD} for {@code db}'s database, in a new map to add to. */
    public static Map<String, String> env(PostgresExtension db) {
        Map<String, String> env = new HashMap<>();
        env.put("DB_URL", db.jdbcUrl());
        env.put("DB_USER", db.user());
        if (db.password() != null) {
            env.put("DB_PASSWORD", db.password());
        }
        return env;
    }

    /**
     * {@link #env(PostgresExtension)}, and a service's own on 127.0.0.1:{@code port} ({@code BIND_HOST},
     * {@code PORT}) with a pool of 2 ({@code DB_POOL_SIZE}): what a test that starts a service from its
     * environment sets, in a new map to add to.
     */
    public static Map<String, String> serviceEnv(PostgresExtension db, int port) {
        Map<String, String> env = env(db);
        env.put("PORT", Integer.toString(port));
        env.put("BIND_HOST", "127.0.0.1");
        env.put("DB_POOL_SIZE", "2");
        return env;
    }

    /** The one number {@code sql} selects in {@code db}'s database (a count, say). */
    public static long count(PostgresExtension db, String sql) {
        return db.jdbi().withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }

    /** The texts {@code sql} selects in {@code db}'s database, in the order it gives them. */
    public static List<String> strings(PostgresExtension db, String sql) {
        return db.jdbi().withHandle(h -> h.createQuery(sql).mapTo(String.class).list());
    }
}
