package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.spi.MessageHandler;
import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A consumer's database tuned with {@code synchronous_commit = off} (per database or role, a common
 * setting for write-heavy services). The relay takes a message as delivered, and a broker source
 * acknowledges it, once {@link IdempotentHandler} has committed its effect: docs/GUARANTEES.md and
 * ARCHITECTURE.md say that commit "stays durable", which is what makes the poller's own
 * asynchronous commits safe. A commit that does not wait for its WAL flush can be lost in a crash of
 * PostgreSQL after the sender forgot the message: the effect is then lost for good. So the
 * handler's own transaction must wait for its flush whatever the database's default.
 */
class DurableEffectTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(dataSource -> {
        Outbox.createTables(dataSource);
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = off', "
                    + "current_database()); END $$");
        }
    });

    private HikariDataSource pool;
    private Jdbi jdbi;
    /** synchronous_commit as each effect's transaction sees it. */
    private final List<String> seen = new CopyOnWriteArrayList<>();
    private final MessageHandler recordingSetting = (h, m) -> seen.add(
            h.createQuery("SELECT current_setting('synchronous_commit')").mapTo(String.class).one());

    @BeforeEach
    void setUp() {
        pool = db.newPool(2); // connections made after the ALTER DATABASE
        jdbi = Jdbi.create(pool);
    }

    @AfterEach
    void tearDown() {
        pool.close();
    }

    @Test
    void a_processed_message_is_committed_with_a_wait_for_its_flush() {
        IdempotentHandler handler = IdempotentHandler.create(jdbi, "loyalty", recordingSetting);

        assertThat(handler.handle(message())).isEqualTo(Outcome.PROCESSED);

        assertThat(seen).as("synchronous_commit of the effect's transaction").containsExactly("on");
    }

    @Test
    void a_processed_batch_is_committed_with_a_wait_for_its_flush() {
        IdempotentHandler handler = IdempotentHandler.create(jdbi, "loyalty", recordingSetting);

        BatchOutcome outcome = handler.handleAll(List.of(message(), message()));

        assertThat(outcome.failures()).isEmpty();
        assertThat(seen).as("synchronous_commit of the batch's transaction").containsOnly("on");
    }

    @Test
    void a_setting_that_waits_longer_is_kept() {
        try (HikariDataSource remoteWrite = db.newPool(1, c -> c.setConnectionInitSql("SET synchronous_commit = remote_write"))) {
            IdempotentHandler handler = IdempotentHandler.create(Jdbi.create(remoteWrite), "loyalty", recordingSetting);

            handler.handle(message());
            handler.handleAll(List.of(message(), message()));
        }

        assertThat(seen).as("synchronous_commit of the effects' transactions").containsOnly("remote_write");
    }

    private static OutboxMessage message() {
        return new OutboxMessage(UUID.randomUUID(), 1, "Order", "o-1", "OrderCreated", "{}", Map.of(), Instant.now(), 1);
    }
}
