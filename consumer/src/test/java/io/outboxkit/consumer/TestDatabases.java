package io.outboxkit.consumer;

import io.outboxkit.app.Database;
import io.outboxkit.app.DatabaseSettings;
import io.outboxkit.testing.PostgresExtension;

/** Opens the service's {@link Database} on a test class's fresh database. */
final class TestDatabases {

    private TestDatabases() {
    }

    /** A pool of {@code size} on {@code db}'s database, as the service would open it. */
    static Database open(PostgresExtension db, int size) {
        return Database.open(new DatabaseSettings(db.jdbcUrl(), db.user(), db.password()), "consumer-test", size,
                ConsumerMain.SCHEMA);
    }
}
