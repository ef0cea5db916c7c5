package io.outboxkit.consumer;

import io.outboxkit.app.Database;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.testing.PostgresExtension;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The real consumer over a test class's database: its own pool, the app on a free port of
 * 127.0.0.1, and a client for it. Register it on a static field after the class's
 * {@link PostgresExtension}:
 * <pre>{@code @RegisterExtension static final RunningConsumer consumer = new RunningConsumer(db, 8);}</pre>
 * It starts at its first use (so after the database exists, whatever order JUnit runs the two
 * extensions in) and stops after the class's last test. Thread-safe.
 */
final class RunningConsumer implements AfterAllCallback {

    private final PostgresExtension db;
    private final int poolSize;
    private final String name;
    private Database database;
    private ConsumerApp app;
    private ApiClient api;

    /** A consumer named {@code loyalty} with a pool of {@code poolSize}. */
    RunningConsumer(PostgresExtension db, int poolSize) {
        this(db, poolSize, "loyalty");
    }

    /** A consumer recording processed messages under {@code name}, with a pool of {@code poolSize}. */
    RunningConsumer(PostgresExtension db, int poolSize, String name) {
        this.db = db;
        this.poolSize = poolSize;
        this.name = name;
    }

    /** The consumer's pool. */
    synchronized Database database() {
        start();
        return database;
    }

    /** The running app. */
    synchronized ConsumerApp app() {
        start();
        return app;
    }

    /** A client of the running app. */
    synchronized ApiClient api() {
        start();
        return api;
    }

    private void start() {
        if (app == null) {
            database = TestDatabases.open(db, poolSize, ConsumerMain.SCHEMA);
            app = ConsumerApp.start(database, name, "127.0.0.1", 0);
            api = new ApiClient(app.port());
        }
    }

    @Override
    public synchronized void afterAll(ExtensionContext context) {
        if (app != null) {
            app.close();
            database.close();
            app = null;
        }
    }
}
