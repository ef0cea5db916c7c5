package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.testing.ChildJvm;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.Secrets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The consumer trims its own {@code processed_messages} past {@code RETENTION_DEDUP_MS}: a consumer
 * on a database of its own (as with {@code SOURCE=kafka}, where no relay shares it) would otherwise
 * keep a record of every message forever.
 */
class DedupRetentionTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply, 2);

    private static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void a_consumer_on_its_own_database_deletes_records_older_than_the_dedup_window_and_keeps_younger_ones()
            throws Exception {
        UUID stale = record("400 days");
        UUID recent = record("1 day");
        Map<String, String> env = new HashMap<>(Secrets.databaseEnv(db));
        env.put("PORT", "0");
        env.put("BIND_HOST", "127.0.0.1");
        env.put("DB_POOL_SIZE", "2");
        env.put("RETENTION_INTERVAL_MS", "200");

        try (ChildJvm consumer = ChildJvm.start(ConsumerMain.class.getName(), env, List.of())) {
            assertThat(consumer.awaitOutput("listening on", WAIT)).as(consumer.output()).isTrue();
            await().atMost(WAIT).untilAsserted(() -> assertThat(remaining(stale))
                    .as("records of %s, processed 400 days ago, past the 30-day window", stale).isZero());
            assertThat(remaining(recent)).as("a record processed a day ago, within the window").isOne();
        }
    }

    private static UUID record(String age) {
        UUID id = UUID.randomUUID();
        db.jdbi().useHandle(h -> h.execute("INSERT INTO processed_messages (consumer, message_id, processed_at) "
                + "VALUES ('loyalty', ?, now() - ?::interval)", id, age));
        return id;
    }

    private static long remaining(UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM processed_messages WHERE message_id = ?")
                .bind(0, id).mapTo(Long.class).one());
    }
}
