package io.outboxkit.replay;

import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;

/** Puts the outbox of a test database in the state a test needs. */
final class Outbox {

    /** An outbox of names of its own, as a second service keeps one beside the default outbox. */
    static final OutboxNames NAMED = OutboxNames.inSchema("messaging").withOutboxTable("orders_outbox")
            .withChannel("orders_wake");
    /** The options that point replay-cli at {@link #NAMED}. */
    static final List<String> NAMED_OPTIONS = List.of("--schema", "messaging", "--outbox-table", "orders_outbox",
            "--channel", "orders_wake");

    private static final OutboxWriter WRITER = OutboxWriter.create();

    private Outbox() {
    }

    /** Creates the default outbox and {@link #NAMED}'s beside it. */
    static void createBoth(DataSource dataSource) {
        OutboxMigrations.apply(dataSource);
        OutboxMigrations.apply(dataSource, NAMED);
    }

    /** Writes an OrderCreated message for a new order in its own transaction; returns its id. */
    static UUID write(PostgresExtension db) {
        return write(db, WRITER);
    }

    /** As {@link #write(PostgresExtension)}, to {@link #NAMED}'s outbox. */
    static UUID writeNamed(PostgresExtension db) {
        return write(db, OutboxWriter.create(NAMED));
    }

    private static UUID write(PostgresExtension db, OutboxWriter writer) {
        String orderId = UUID.randomUUID().toString();
        return db.jdbi().inTransaction(h -> writer.write(h, NewMessage.of("Order", orderId, "OrderCreated",
                "{\"order_id\":\"" + orderId + "\",\"amount\":42.50}")));
    }

    /** Empties {@link #NAMED}'s outbox (truncateAll empties the current schema's tables only). */
    static void clearNamed(PostgresExtension db) {
        db.jdbi().useHandle(h -> h.execute("TRUNCATE " + NAMED.qualifiedOutboxTable()));
    }

    /** The status of message {@code id} in {@link #NAMED}'s outbox. */
    static String namedStatus(PostgresExtension db, UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT status FROM " + NAMED.qualifiedOutboxTable()
                + " WHERE id = :id").bind("id", id).mapTo(String.class).one());
    }

    /** {@code options} followed by {@link #NAMED_OPTIONS}, as one command line. */
    static String[] named(String... options) {
        return java.util.stream.Stream.concat(Arrays.stream(options), NAMED_OPTIONS.stream()).toArray(String[]::new);
    }

    /** Writes {@code count} messages in {@code status} in one statement, as a large outbox holds them. */
    static void writeMany(PostgresExtension db, int count, String status) {
        db.jdbi().useHandle(h -> h.execute("INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, "
                + "status, attempts) SELECT gen_random_uuid(), 'Order', 'order-' || n, 'OrderCreated', '{}', ?, 5 "
                + "FROM generate_series(1, ?) n", status, count));
    }

    static void markDead(PostgresExtension db, UUID id, String lastError) {
        db.jdbi().useHandle(h -> h.createUpdate(
                        "UPDATE outbox SET status = 'DEAD', attempts = 5, last_error = :error WHERE id = :id")
                .bind("id", id).bind("error", lastError).execute());
    }

    static void markPublished(PostgresExtension db, UUID id) {
        db.jdbi().useHandle(h -> h.createUpdate(
                        "UPDATE outbox SET status = 'PUBLISHED', attempts = 1, published_at = now() WHERE id = :id")
                .bind("id", id).execute());
    }

    /** Pretends the message was written {@code hours} hours ago. */
    static void age(PostgresExtension db, UUID id, int hours) {
        db.jdbi().useHandle(h -> h.createUpdate(
                        "UPDATE outbox SET created_at = now() - :hours * interval '1 hour' WHERE id = :id")
                .bind("id", id).bind("hours", hours).execute());
    }

    static String status(PostgresExtension db, UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT status FROM outbox WHERE id = :id")
                .bind("id", id).mapTo(String.class).one());
    }

    static int attempts(PostgresExtension db, UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT attempts FROM outbox WHERE id = :id")
                .bind("id", id).mapTo(Integer.class).one());
    }
}
