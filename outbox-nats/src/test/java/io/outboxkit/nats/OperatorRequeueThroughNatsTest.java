package io.outboxkit.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxSchema;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An operator's requeue ({@link OutboxAdmin#requeue}, {@code replay-cli requeue}, the console's
 * button) through the NATS publisher: the outbox side of the library as a relay wires it, against
 * a real PostgreSQL and the machine's NATS.
 */
class OperatorRequeueThroughNatsTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(dataSource -> {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            for (OutboxSchema.Script script : OutboxSchema.scripts(OutboxNames.DEFAULT)) {
                statement.execute(script.sql());
            }
        }
    });

    private final TestNats nats = TestNats.shared();

    @AfterEach
    void cleanUp() throws Exception {
        nats.close();
    }

    @Test
    void the_repair_statement_a_padded_header_refusal_names_clears_every_padding_nats_would_strip() {
        Jdbi jdbi = db.jdbi();
        OutboxAdmin admin = OutboxAdmin.create(jdbi);
        OutboxNames outbox = OutboxNames.DEFAULT;
        for (NewMessage padded : List.of(NewMessage.of("Order", "\u000border-5\f", "OrderCreated", "{}"),
                NewMessage.of("Order", "order-6", "OrderCreated", "{}").withHeader("note", "\f\tx \u000b"))) {
            UUID id = jdbi.inTransaction(h -> OutboxWriter.create().write(h, padded));
            String refusal = org.assertj.core.api.Assertions.catchThrowableOfType(
                    () -> NatsHeaders.of(admin.find(id).orElseThrow().message(), outbox), IllegalArgumentException.class)
                    .getMessage();
            String repair = refusal.substring(refusal.indexOf("(UPDATE ") + 1, refusal.indexOf("), then requeued"));

            jdbi.useHandle(h -> h.execute(repair));

            io.nats.client.impl.Headers headers = NatsHeaders.of(admin.find(id).orElseThrow().message(), outbox);
            assertThat(headers.getFirst(padded.headers().isEmpty() ? "aggregate_id" : "note"))
                    .isEqualTo(padded.headers().isEmpty() ? "order-5" : "x");
        }
    }

    @Test
    void a_published_message_an_operator_requeues_reaches_the_consumer_again() throws Exception {
        Jdbi jdbi = db.jdbi();
        Map<UUID, Integer> deliveries = new ConcurrentHashMap<>();
        try (NatsPublisher publisher = nats.publisher().build();
             NatsSource source = nats.source("requeue").build()) {
            source.start(batch -> {
                batch.forEach(m -> deliveries.merge(m.id(), 1, Integer::sum));
                return Map.of();
            });
            OutboxPoller poller = OutboxPoller.builder(jdbi, publisher).pollInterval(Duration.ofMillis(50)).build();
            poller.start();
            try {
                UUID id = jdbi.inTransaction(h -> OutboxWriter.create()
                        .write(h, NewMessage.of("Order", "order-1", "OrderCreated", "{\"n\":1}")));
                await("first delivery").atMost(Duration.ofSeconds(20)).until(() -> deliveries.getOrDefault(id, 0) == 1);

                // The consumer lost its effect (restored from a backup, say): the operator replays the message.
                assertThat(OutboxAdmin.create(jdbi).requeue(id)).isTrue();
                await("the relay published the requeued message again").atMost(Duration.ofSeconds(20))
                        .until(() -> jdbi.withHandle(h -> h.createQuery(
                                        "SELECT status = 'PUBLISHED' AND attempts > 0 FROM outbox WHERE id = :id")
                                .bind("id", id).mapTo(Boolean.class).one()));

                await("the requeued message reaches the consumer again (the outbox says PUBLISHED)")
                        .atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                        .untilAsserted(() -> assertThat(deliveries.getOrDefault(id, 0))
                                .as("deliveries of %s; the stream holds %d message(s)", id, nats.storedMessages())
                                .isEqualTo(2));
            } finally {
                poller.close();
            }
        }
    }
}
