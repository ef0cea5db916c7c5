package io.outboxkit.relay;

import io.outboxkit.app.Database;
import io.outboxkit.app.DatabaseSettings;
import io.outboxkit.testing.PostgresExtension;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Opens the service's {@link Database} on a test class's fresh database. */
final class TestDatabases {

    private static final Pattern USER_IN_URL = Pattern.compile("[?&]user=([^&]+)");

    private TestDatabases() {
    }

    /** A pool of {@code size} on {@code db}'s database, as the service would open it. */
    static Database open(PostgresExtension db, int size) {
        String user = db.user();
        if (user == null) {
            Matcher m = USER_IN_URL.matcher(db.jdbcUrl());
            user = m.find() ? m.group(1) : "postgres";
        }
        return Database.open(new DatabaseSettings(db.jdbcUrl(), user, db.password()), "relay-test", size);
    }
}
