package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.IdempotentHandler;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.Outcome;
import io.outboxkit.core.spi.MessageHandler;
import io.outboxkit.testing.PostgresExtension;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class IdempotentHandlersTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(dataSource -> {
        try (var connection = dataSource.getConnection(); var statement = connection.createStatement()) {
            statement.execute("CREATE TABLE effects (message_id uuid NOT NULL)");
        }
    });

    @Test
    void a_handler_of_the_bean_applies_a_message_once_under_the_consumer_name_of_the_properties() {
        OutboxMessage message = new OutboxMessage(UUID.randomUUID(), 1, "Order", "o-1", "OrderCreated", "{}", Map.of(),
                Instant.now(), 1);
        Contexts.on(db).withPropertyValues("outboxkit.consumer.name=loyalty").run(context -> {
            IdempotentHandler handler = context.getBean(IdempotentHandlers.class).create((tx, m) ->
                    tx.execute("INSERT INTO effects (message_id) VALUES (?)", m.id()));
            assertThat(handler.consumer()).isEqualTo("loyalty");
            assertThat(handler.handle(message)).isEqualTo(Outcome.PROCESSED);
            assertThat(handler.handle(message)).isEqualTo(Outcome.DUPLICATE);
        });
        assertThat(count("SELECT count(*) FROM effects")).isEqualTo(1);
        assertThat(count("SELECT count(*) FROM processed_messages WHERE consumer = 'loyalty'")).isEqualTo(1);
    }

    @Test
    void without_a_consumer_name_a_handler_needs_one_given_and_the_error_names_the_property() {
        Contexts.on(db).run(context -> {
            IdempotentHandlers handlers = context.getBean(IdempotentHandlers.class);
            assertThatThrownBy(() -> handlers.create((tx, m) -> { }))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("outboxkit.consumer.name");
            assertThat(handlers.create("billing", (tx, m) -> { }).consumer()).isEqualTo("billing");
        });
    }

    @Test
    void a_handlers_own_transactions_end_once_idle_for_the_property_by_default_the_librarys_10_s() {
        String[] seen = new String[1];
        MessageHandler looking = (tx, m) -> seen[0] = tx.createQuery(
                "SELECT current_setting('idle_in_transaction_session_timeout')").mapTo(String.class).one();
        Contexts.on(db).run(context -> context.getBean(IdempotentHandlers.class).create("loyalty", looking)
                .handle(message()));
        assertThat(seen[0]).as("IdempotentHandler.DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT").isEqualTo("10s");
        Contexts.on(db).withPropertyValues("outboxkit.consumer.idle-in-transaction-timeout=2500ms")
                .run(context -> context.getBean(IdempotentHandlers.class).create("loyalty", looking).handle(message()));
        assertThat(seen[0]).isEqualTo("2500ms");
    }

    private static OutboxMessage message() {
        return new OutboxMessage(UUID.randomUUID(), 1, "Order", "o-1", "OrderCreated", "{}", Map.of(), Instant.now(), 1);
    }

    private static long count(String sql) {
        return db.jdbi().withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }
}
