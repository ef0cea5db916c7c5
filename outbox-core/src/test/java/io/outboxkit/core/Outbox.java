package io.outboxkit.core;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;

/** Test helpers: write messages and read the outbox's state. */
final class Outbox {

    private Outbox() {
    }

    /** The library's tables with the default names: a test class's database setup. */
    static void createTables(DataSource dataSource) throws SQLException {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(OutboxSchema.sql(OutboxNames.DEFAULT));
        }
    }

    static NewMessage message(String aggregateId, int n) {
        return NewMessage.of("Order", aggregateId, "Event" + n, "{\"n\":" + n + "}");
    }

    /** Writes {@code perAggregate} messages for each of {@code aggregates} aggregates, one transaction each. */
    static List<UUID> write(Jdbi jdbi, int aggregates, int perAggregate) {
        OutboxWriter writer = OutboxWriter.create();
        List<UUID> ids = new ArrayList<>();
        for (int n = 0; n < perAggregate; n++) {
            for (int a = 0; a < aggregates; a++) {
                String aggregate = "agg-" + a;
                int number = n;
                ids.add(jdbi.inTransaction(h -> writer.write(h, message(aggregate, number))));
            }
        }
        return ids;
    }

    static long count(Jdbi jdbi, String status) {
        return jdbi.withHandle(h -> h.createQuery("SELECT count(*) FROM outbox WHERE status = :s")
                .bind("s", status).mapTo(Long.class).one());
    }

    static long total(Jdbi jdbi) {
        return jdbi.withHandle(h -> h.createQuery("SELECT count(*) FROM outbox").mapTo(Long.class).one());
    }

    static void clear(Jdbi jdbi) {
        jdbi.useHandle(h -> h.execute("TRUNCATE outbox, processed_messages"));
    }
}
