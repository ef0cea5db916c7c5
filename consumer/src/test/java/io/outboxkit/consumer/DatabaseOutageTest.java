package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** While no database connection can be had, a message is answered 503 (retry later) and nothing is recorded. */
class DatabaseOutageTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply);

    @RegisterExtension
    static final RunningConsumer consumer = new RunningConsumer(db, 2);

    @Test
    @SuppressWarnings("try") // the two connections are only held, to exhaust the pool
    void a_message_arriving_while_the_database_is_unreachable_is_refused_with_503_and_processed_when_sent_again() throws Exception {
        ObjectNode envelope = Envelopes.orderCreated(UUID.randomUUID(), 1, UUID.randomUUID(), UUID.randomUUID(), "3.50");
        ApiClient.Response refused;
        try (Connection first = consumer.database().dataSource().getConnection();
             Connection second = consumer.database().dataSource().getConnection()) {
            refused = consumer.api().postJson("/messages", envelope); // the pool is exhausted: no connection within its timeout
        }

        assertThat(refused.status()).isEqualTo(503);
        assertThat(refused.body().get("error").asText()).contains("database unavailable");
        long processed = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM processed_messages")
                .mapTo(Long.class).one());
        assertThat(processed).isZero();
        assertThat(consumer.api().postJson("/messages", envelope).body().get("status").asText()).isEqualTo("processed");
    }
}
