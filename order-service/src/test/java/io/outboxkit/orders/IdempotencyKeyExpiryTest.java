package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.Env;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.testing.FreePorts;
import io.outboxkit.testing.PostgresExtension;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Idempotency keys are kept for {@code IDEMPOTENCY_KEY_TTL_MS} after their first request, then
 * deleted every {@code RETENTION_INTERVAL_MS}, so the table holds about a window's worth of keys
 * however long the service runs; a retry after that is a new request.
 */
class IdempotencyKeyExpiryTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OrderServiceMain.SCHEMA::apply, 2);

    private static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void the_service_deletes_keys_older_than_the_ttl_every_interval_and_keeps_younger_ones() throws Exception {
        String old = storedKey("2 hours");
        String young = storedKey("1 minute");
        Map<String, String> env = TestDatabases.serviceEnv(db, FreePorts.pick());
        env.put("IDEMPOTENCY_KEY_TTL_MS", Long.toString(Duration.ofHours(1).toMillis()));
        env.put("RETENTION_INTERVAL_MS", "100");

        try (AutoCloseable service = OrderServiceMain.start(Env.of(env))) {
            await().atMost(WAIT).untilAsserted(() -> assertThat(keys(old)).as("a key stored 2 hours ago, TTL 1 hour").isZero());
            assertThat(keys(young)).as("a key stored a minute ago").isOne();
        }
    }

    @Test
    void a_retry_after_its_key_expired_is_a_new_request_and_creates_a_second_order() {
        String user = UUID.randomUUID().toString();
        String key = UUID.randomUUID().toString();
        try (RunningOrderService service = RunningOrderService.start(db)) {
            HttpResponse<String> first = service.createOrder(user, "10.00", "Idempotency-Key", key);
            db.jdbi().useHandle(h -> h.execute("UPDATE idempotency_keys SET created_at = now() - interval '2 days' "
                    + "WHERE key = ?", key));

            assertThat(IdempotencyKeys.deleteExpired(db.dataSource(), Duration.ofDays(1), 10)).isOne();
            HttpResponse<String> late = service.createOrder(user, "10.00", "Idempotency-Key", key);

            assertThat(late.statusCode()).isEqualTo(201);
            assertThat(late.headers().firstValue("Idempotent-Replayed")).isEmpty();
            assertThat(RunningOrderService.json(late).get("id")).isNotEqualTo(RunningOrderService.json(first).get("id"));
            assertThat(new Rows(db.jdbi()).ordersOf(user)).isEqualTo(2);
            assertThat(keys(key)).as("the key stored again, for the new order's retries").isOne();
        }
    }

    @Test
    void expired_keys_are_deleted_batch_by_batch_until_none_is_left() {
        IntStream.range(0, 25).forEach(i -> storedKey("3 days"));

        long deleted = IdempotencyKeys.deleteExpired(db.dataSource(), Duration.ofDays(1), 10);

        assertThat(deleted).isGreaterThanOrEqualTo(25);
        long left = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT count(*) FROM idempotency_keys WHERE created_at < now() - interval '1 day'").mapTo(Long.class).one());
        assertThat(left).isZero();
    }

    @Test
    void an_interrupted_deletion_stops_after_its_batch_in_progress_so_a_stopping_service_need_not_wait_for_it() {
        IntStream.range(0, 25).forEach(i -> storedKey("3 days"));

        long deleted;
        Thread.currentThread().interrupt(); // what RetentionTask.close() does to its run
        try {
            deleted = IdempotencyKeys.deleteExpired(db.dataSource(), Duration.ofDays(1), 10);
        } finally {
            assertThat(Thread.interrupted()).as("the interrupt left for the caller (and cleared here)").isTrue();
        }

        assertThat(deleted).as("one batch, the rest left for the next run").isEqualTo(10);
        assertThat(IdempotencyKeys.deleteExpired(db.dataSource(), Duration.ofDays(1), 10)).isEqualTo(15);
    }

    private static String storedKey(String age) {
        String key = UUID.randomUUID().toString();
        db.jdbi().useHandle(h -> h.execute("INSERT INTO idempotency_keys (key, request_hash, response_code, response_body, "
                + "created_at) VALUES (?, 'hash', 201, '{}', now() - ?::interval)", key, age));
        return key;
    }

    private static long keys(String key) {
        return new Rows(db.jdbi()).keys(key);
    }
}
