package io.outboxkit.relay;

import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxEntry;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.testing.PostgresExtension;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Writes messages to a test class's outbox the way a producer does, and reads where they stand.
 * It may be made before the database exists (in a static field's initializer): it looks the
 * database up at each use.
 */
final class TestOutbox {

    private final PostgresExtension db;
    private final OutboxWriter writer = OutboxWriter.create();

    TestOutbox(PostgresExtension db) {
        this.db = db;
    }

    /** Commits one message about order {@code orderId}; returns its id. */
    UUID write(String orderId, String eventType) {
        return db.jdbi().inTransaction(h -> writer.write(h, message(orderId, eventType)));
    }

    /** Commits the messages in one transaction, in list order. */
    List<UUID> writeAll(List<NewMessage> messages) {
        return db.jdbi().inTransaction(h -> writer.writeAll(h, messages));
    }

    static NewMessage message(String orderId, String eventType) {
        return NewMessage.of("Order", orderId, eventType, "{\"order_id\":\"" + orderId + "\"}")
                .withHeader("trace_id", "trace-" + orderId);
    }

    OutboxEntry entry(UUID id) {
        return admin().find(id).orElseThrow(() -> new AssertionError("no outbox message " + id));
    }

    Optional<OutboxEntry> find(UUID id) {
        return admin().find(id);
    }

    MessageStatus status(UUID id) {
        return entry(id).status();
    }

    private OutboxAdmin admin() {
        return OutboxAdmin.create(db.jdbi());
    }
}
