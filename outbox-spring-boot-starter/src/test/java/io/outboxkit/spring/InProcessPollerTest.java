package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.transaction.support.TransactionTemplate;

class InProcessPollerTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY);

    private static ApplicationContextRunner context() {
        return Contexts.on(db, DataSourceTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class);
    }

    @Test
    void the_poller_delivers_what_a_transaction_wrote_to_the_applications_publisher_bean() {
        List<OutboxMessage> received = new CopyOnWriteArrayList<>();
        context().withBean(MessagePublisher.class, () -> received::add).run(context -> {
            UUID id = context.getBean(TransactionTemplate.class)
                    .execute(status -> context.getBean(SpringOutboxWriter.class).write(event("a")));
            await().atMost(Duration.ofSeconds(10)).until(() -> received.stream().anyMatch(m -> m.id().equals(id)));
            assertThat(received).singleElement().satisfies(m -> {
                assertThat(m.eventType()).isEqualTo("OrderCreated");
                assertThat(m.payload()).isEqualTo("{\"order_id\": \"a\"}");
            });
        });
    }

    @Test
    void closing_the_context_finishes_the_batch_in_flight_and_leaves_no_lease_behind() throws Exception {
        CountDownLatch inFlight = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<UUID> delivered = new CopyOnWriteArrayList<>();
        MessagePublisher slow = new MessagePublisher() {
            @Override
            public void publish(OutboxMessage message) {
                delivered.add(message.id());
            }

            @Override
            public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
                inFlight.countDown();
                if (!release.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the test never released the batch");
                }
                return MessagePublisher.super.publishAll(batch);
            }
        };
        context().withBean(MessagePublisher.class, () -> slow).run(context -> {
            List<UUID> ids = context.getBean(TransactionTemplate.class).execute(status ->
                    context.getBean(SpringOutboxWriter.class).writeAll(List.of(event("b"), event("c"), event("d"))));
            assertThat(inFlight.await(10, TimeUnit.SECONDS)).as("the batch reached the publisher").isTrue();

            Thread closer = new Thread(context::close, "closer");
            closer.start();
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(closer::isAlive);
            release.countDown();
            closer.join(TimeUnit.SECONDS.toMillis(30));

            assertThat(closer.isAlive()).as("the context closed").isFalse();
            assertThat(delivered).containsExactlyInAnyOrderElementsOf(ids);
            List<String> statuses = db.jdbi().withHandle(h -> h.createQuery("""
                    SELECT status || CASE WHEN locked_by IS NULL AND locked_until IS NULL THEN '' ELSE ' leased' END
                    FROM outbox WHERE id = ANY(:ids)""")
                    .bindArray("ids", UUID.class, ids).mapTo(String.class).list());
            assertThat(statuses).containsExactly("PUBLISHED", "PUBLISHED", "PUBLISHED");
        });
    }

    private static NewMessage event(String orderId) {
        return NewMessage.of("Order", orderId, "OrderCreated", "{\"order_id\": \"" + orderId + "\"}");
    }
}
