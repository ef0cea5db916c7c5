package io.outboxkit.replay;

import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.testing.PostgresExtension;
import java.util.UUID;

/** Puts the outbox of a test database in the state a test needs. */
final class Outbox {

    private static final OutboxWriter WRITER = OutboxWriter.create();

    private Outbox() {
    }

    /** Writes an OrderCreated message for a new order in its own transaction; returns its id. */
    static UUID write(PostgresExtension db) {
        String orderId = UUID.randomUUID().toString();
        return db.jdbi().inTransaction(h -> WRITER.write(h, NewMessage.of("Order", orderId, "OrderCreated",
                "{\"order_id\":\"" + orderId + "\",\"amount\":42.50}")));
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
