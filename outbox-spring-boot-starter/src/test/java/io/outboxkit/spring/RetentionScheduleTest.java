package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxRetention;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class RetentionScheduleTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY);

    @Test
    void retention_enabled_deletes_published_messages_past_the_period_on_its_schedule_and_keeps_the_rest() {
        Contexts.on(db).withPropertyValues("outboxkit.retention.enabled=true", "outboxkit.retention.published=1h",
                "outboxkit.retention.interval=100ms").run(context -> {
                    UUID old = write(context.getBean(OutboxWriter.class), "PUBLISHED", "2 hours");
                    UUID recent = write(context.getBean(OutboxWriter.class), "PUBLISHED", "1 minute");
                    UUID pending = write(context.getBean(OutboxWriter.class), "PENDING", "2 hours");
                    await().atMost(Duration.ofSeconds(10)).until(() -> !exists(old));
                    assertThat(exists(recent)).isTrue();
                    assertThat(exists(pending)).isTrue();
                });
    }

    @Test
    void retention_is_off_unless_enabled() {
        Contexts.on(db).run(context -> assertThat(context).doesNotHaveBean(OutboxRetention.class));
    }

    private static UUID write(OutboxWriter writer, String status, String age) {
        return db.jdbi().inTransaction(h -> {
            UUID id = writer.write(h, NewMessage.of("Order", UUID.randomUUID().toString(), "OrderCreated", "{}"));
            h.createUpdate("UPDATE outbox SET status = :status, published_at = now() - CAST(:age AS interval) WHERE id = :id")
                    .bind("status", status).bind("age", age).bind("id", id).execute();
            return id;
        });
    }

    private static boolean exists(UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM outbox WHERE id = :id").bind("id", id)
                .mapTo(Long.class).one()) == 1;
    }
}
