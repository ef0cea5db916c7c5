package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.ChildJvm;
import io.outboxkit.testing.FreePorts;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The relay's heap at its shipped size (ops/jvm/services.options: -Xmx512m) and its default
 * settings (BATCH_SIZE 100, WORKERS 2), facing rows too large to hold a batch of: written before
 * the writer's limit, by SQL, or with the limit raised.
 */
class LargePayloadHeapTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 2);
    @RegisterExtension
    static final FakeConsumer consumer = new FakeConsumer();

    /**
     * 60 messages of 4 MiB: less than one default batch, more than the heap holds at once, each
     * larger than the consumer takes (1 MiB). The relay claims smaller batches until they fit; each
     * large message ends DEAD with its error recorded, and a normal message written after them is
     * delivered.
     */
    @Test
    void messages_too_large_for_the_relays_heap_in_one_batch_are_claimed_in_smaller_ones_and_delivery_goes_on()
            throws Exception {
        List<UUID> large = db.jdbi().withHandle(h -> h.createQuery("""
                INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload)
                SELECT gen_random_uuid(), 'Order', gen_random_uuid()::text, 'OrderCreated',
                       jsonb_build_object('blob', repeat('x', 4 * 1024 * 1024))
                FROM generate_series(1, 60)
                RETURNING id""").mapTo(UUID.class).list());
        UUID normal = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h,
                NewMessage.of("Order", UUID.randomUUID().toString(), "OrderCreated", "{\"amount\":10}")));
        Map<String, String> env = TestDatabases.env(db);
        env.put("PORT", Integer.toString(FreePorts.pick()));
        env.put("CONSUMER_URL", consumer.url());
        env.put("RELAY_NAME", "too-large-test");
        env.put("DB_POOL_SIZE", "5");
        // Two: the consumer resets the connection of each oversized request, and a small request sent at
        // that moment on a connection it is closing fails once, through no fault of its message.
        env.put("MAX_ATTEMPTS", "2");
        env.put("LEASE_MS", "6000"); // a claim that ran out of memory leaves its messages leased until then

        try (ChildJvm relay = ChildJvm.start(RelayMain.class.getName(), env, List.of("-Xmx512m"))) {
            assertThat(relay.awaitOutput("relaying to", Duration.ofSeconds(30))).as(relay.output()).isTrue();
            try {
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                        .until(() -> deadWithError(large) == large.size() && isPublished(normal));
            } catch (ConditionTimeoutException e) {
                throw new AssertionError(deadWithError(large) + " of " + large.size() + " large messages DEAD with an "
                        + "error, the normal one published: " + isPublished(normal) + "; the relay's output:\n"
                        + relay.output(), e);
            }
            assertThat(relay.output()).contains("did not fit in the heap");
        }
    }

    private static long deadWithError(List<UUID> ids) {
        return db.jdbi().withHandle(h -> h.createQuery(
                        "SELECT count(*) FROM outbox WHERE id = ANY(:ids) AND status = :status AND last_error <> ''")
                .bindArray("ids", UUID.class, ids).bind("status", MessageStatus.DEAD.name())
                .mapTo(Long.class).one());
    }

    private static boolean isPublished(UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT status FROM outbox WHERE id = ?").bind(0, id)
                .mapTo(String.class).one()).equals(MessageStatus.PUBLISHED.name());
    }
}
