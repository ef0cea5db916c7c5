package io.outboxkit.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.IdempotentHandler;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.core.spi.MessageHandler;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The library end to end, as an embedding service would wire it: OutboxWriter → OutboxPoller with
 * the RabbitMQ publisher → the broker → the RabbitMQ source → IdempotentHandler, against a real
 * PostgreSQL and the real broker, with a handler that fails now and then.
 */
class OutboxThroughRabbitMqTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply);

    @Test
    void every_message_is_applied_once_and_in_order_per_aggregate_with_failures_in_between() throws Exception {
        Jdbi jdbi = db.jdbi();
        jdbi.useHandle(h -> h.execute("CREATE TABLE applied (aggregate_id text NOT NULL, sequence bigint NOT NULL)"));
        List<String> violations = Collections.synchronizedList(new ArrayList<>());
        Set<String> failedOnce = ConcurrentHashMap.newKeySet();
        Random random = new Random(11);
        Map<String, Boolean> failFirst = new ConcurrentHashMap<>();
        MessageHandler effect = (Handle tx, OutboxMessage m) -> {
            if (failFirst.computeIfAbsent(m.id().toString(), id -> random.nextInt(8) == 0) && m.attempts() == 1) {
                failedOnce.add(m.id().toString()); // the source's first delivery fails, its retry succeeds
                throw new IllegalStateException("the handler fails on the first delivery of " + m.id());
            }
            Long last = tx.createQuery("SELECT max(sequence) FROM applied WHERE aggregate_id = :a")
                    .bind("a", m.aggregateId()).mapTo(Long.class).one();
            if (last != null && last > m.sequence()) {
                violations.add(m.aggregateId() + ": " + m.sequence() + " after " + last);
            }
            tx.createUpdate("INSERT INTO applied VALUES (:a, :s)").bind("a", m.aggregateId()).bind("s", m.sequence()).execute();
        };
        IdempotentHandler handler = IdempotentHandler.create(jdbi, "rabbitmq-e2e", effect);

        try (Broker broker = new Broker()) {
            String exchange = broker.exchange("e2e");
            String queue = broker.queue("e2e");
            try (RabbitMqSource source = RabbitMqSource.builder(Broker.URI, queue).exchange(exchange)
                         .initialBackoff(Duration.ofMillis(20)).maxBackoff(Duration.ofMillis(200)).build();
                 RabbitMqPublisher publisher = RabbitMqPublisher.builder(Broker.URI).exchange(exchange).build()) {
                source.start(batch -> handler.handleAll(batch).failures());
                OutboxPoller poller = OutboxPoller.builder(jdbi, publisher).workers(2).batchSize(50)
                        .pollInterval(Duration.ofMillis(50)).build();
                poller.start();
                try {
                    OutboxWriter writer = OutboxWriter.create();
                    List<UUID> written = new ArrayList<>();
                    for (int n = 0; n < 20; n++) {
                        for (int a = 0; a < 15; a++) {
                            NewMessage message = NewMessage.of("Order", "order-" + a, "Event" + n, "{\"n\":" + n + "}");
                            written.add(jdbi.inTransaction(h -> writer.write(h, message)));
                        }
                    }

                    await().atMost(Duration.ofSeconds(60)).until(() -> count(jdbi, "SELECT count(*) FROM applied") == written.size());
                    await().atMost(Duration.ofSeconds(10)).until(() ->
                            count(jdbi, "SELECT count(*) FROM outbox WHERE status = 'PUBLISHED'") == written.size());
                } finally {
                    poller.close();
                }
            }
        }

        assertThat(violations).isEmpty();
        assertThat(failedOnce).isNotEmpty();
        assertThat(count(jdbi, "SELECT count(*) FROM processed_messages WHERE consumer = 'rabbitmq-e2e'")).isEqualTo(300);
        assertThat(count(jdbi, "SELECT count(*) FROM (SELECT aggregate_id FROM applied GROUP BY aggregate_id "
                + "HAVING count(*) = 20 AND count(DISTINCT sequence) = 20) full_aggregates")).isEqualTo(15);
    }

    private static long count(Jdbi jdbi, String sql) {
        return jdbi.withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }
}
