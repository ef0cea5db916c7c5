package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.IdempotentHandler;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.Outcome;
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

    private static long count(String sql) {
        return db.jdbi().withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }
}
