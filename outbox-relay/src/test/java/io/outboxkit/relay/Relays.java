package io.outboxkit.relay;

import io.outboxkit.app.Database;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.testing.PostgresExtension;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The relays a delivery test starts, over the relay's own pool on the test class's database.
 * Register it on a static field after the class's {@link PostgresExtension}:
 * <pre>{@code @RegisterExtension static final Relays relays = new Relays(db, 12);}</pre>
 * Each test starts with an empty outbox; the relays it started are closed after it (each
 * finishing its batch in flight); the pool opens at first use and closes after the class.
 */
final class Relays implements BeforeEachCallback, AfterEachCallback, AfterAllCallback {

    private final PostgresExtension db;
    private final int poolSize;
    private final List<Relay> started = new CopyOnWriteArrayList<>();
    private Database database;

    Relays(PostgresExtension db, int poolSize) {
        this.db = db;
        this.poolSize = poolSize;
    }

    /** Starts a relay with {@code config}; it is closed after the test. */
    Relay start(RelayConfig config) {
        Relay relay = Relay.start(database(), config);
        started.add(relay);
        return relay;
    }

    /** The relays this test started, in order. */
    List<Relay> started() {
        return List.copyOf(started);
    }

    private synchronized Database database() {
        if (database == null) {
            database = TestDatabases.open(db, poolSize, ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
        }
        return database;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        db.truncateAll();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        started.forEach(Relay::close);
        started.clear();
    }

    @Override
    public synchronized void afterAll(ExtensionContext context) {
        if (database != null) {
            database.close();
            database = null;
        }
    }
}
