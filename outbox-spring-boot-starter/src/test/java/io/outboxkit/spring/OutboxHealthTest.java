package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.spring.autoconfigure.OutboxHealthAutoConfiguration;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.health.autoconfigure.registry.HealthContributorRegistryAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.health.registry.HealthContributorRegistry;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.context.ApplicationContext;
import org.springframework.transaction.support.TransactionTemplate;

class OutboxHealthTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY);

    private static final MessagePublisher IGNORING = message -> { };

    private static ApplicationContextRunner context() {
        return Contexts.on(db, DataSourceTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class,
                OutboxHealthAutoConfiguration.class, HealthContributorAutoConfiguration.class,
                HealthContributorRegistryAutoConfiguration.class);
    }

    @BeforeEach
    void empty_outbox() {
        // The first context of the class creates the table.
        db.jdbi().useHandle(h -> h.execute("""
                DO $$ BEGIN IF to_regclass('outbox') IS NOT NULL THEN DELETE FROM outbox WHERE true; END IF; END $$"""));
    }

    @Test
    void the_outbox_component_is_up_with_an_empty_outbox_and_a_running_poller() {
        context().withBean(MessagePublisher.class, () -> IGNORING).run(context -> {
            Health health = outboxHealth(context);
            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsEntry("poller", "running").containsEntry("pending", 0L)
                    .containsEntry("dead", 0L).containsEntry("oldestPendingAgeSeconds", 0.0)
                    .containsEntry("maxPendingAgeSeconds", 300.0);
        });
    }

    @Test
    void the_outbox_component_is_down_when_the_oldest_due_pending_message_is_older_than_max_pending_age() {
        context().withPropertyValues("outboxkit.poller.enabled=false", "outboxkit.health.max-pending-age=5m")
                .run(context -> {
                    UUID id = write(context, "old");
                    db.jdbi().useHandle(h -> h.createUpdate(
                                    "UPDATE outbox SET created_at = now() - interval '10 minutes' WHERE id = :id")
                            .bind("id", id).execute());
                    Health health = outboxHealth(context);
                    assertThat(health.getStatus()).isEqualTo(Status.DOWN);
                    assertThat(health.getDetails()).containsEntry("pending", 1L)
                            .containsEntry("poller", "none");
                    assertThat((double) health.getDetails().get("oldestPendingAgeSeconds")).isGreaterThan(599.0);
                    assertThat((String) health.getDetails().get("reason"))
                            .contains(id.toString(), "outboxkit.health.max-pending-age");
                });
    }

    @Test
    void a_pending_message_younger_than_max_pending_age_leaves_the_component_up() {
        context().withPropertyValues("outboxkit.poller.enabled=false").run(context -> {
            write(context, "young");
            Health health = outboxHealth(context);
            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsEntry("pending", 1L);
        });
    }

    @Test
    void the_outbox_component_is_down_when_the_pollers_of_this_application_stopped() {
        context().withBean(MessagePublisher.class, () -> IGNORING).run(context -> {
            assertThat(outboxHealth(context).getStatus()).isEqualTo(Status.UP);
            context.getBean(OutboxPoller.class).close();
            await().atMost(Duration.ofSeconds(10)).until(() -> outboxHealth(context).getStatus().equals(Status.DOWN));
            assertThat(outboxHealth(context).getDetails()).containsEntry("poller", "stopped")
                    .containsEntry("reason", "the poller of this application is not delivering: stopped, or a worker of it "
                            + "has ended (its log says why)");
        });
    }

    @Test
    void the_outbox_component_is_down_with_the_reason_when_the_outbox_cannot_be_read() {
        context().withPropertyValues("outboxkit.schema.manage=false", "outboxkit.schema.outbox-table=no_such_outbox",
                        "outboxkit.poller.enabled=false")
                .run(context -> {
                    Health health = outboxHealth(context);
                    assertThat(health.getStatus()).isEqualTo(Status.DOWN);
                    assertThat((String) health.getDetails().get("error"))
                            .startsWith("could not read the outbox's figures").contains("no_such_outbox");
                    assertThat(health.getDetails()).doesNotContainKeys("pending", "exception");
                });
    }

    @Test
    void management_health_outbox_enabled_false_turns_the_component_off() {
        context().withPropertyValues("management.health.outbox.enabled=false").run(context -> {
            assertThat(context).hasNotFailed().doesNotHaveBean("outboxHealthIndicator");
            assertThat(context.getBean(HealthContributorRegistry.class).getContributor("outbox")).isNull();
        });
    }

    @Test
    void without_spring_boots_health_on_the_class_path_the_starter_starts_without_the_component() {
        Contexts.on(db).withClassLoader(new FilteredClassLoader("org.springframework.boot.health"))
                .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean("outboxHealthIndicator"));
    }

    /** The component as Spring Boot's health endpoint finds it: by its name, outbox. */
    private static Health outboxHealth(ApplicationContext context) {
        return ((HealthIndicator) context.getBean(HealthContributorRegistry.class).getContributor("outbox")).health();
    }

    private static UUID write(ApplicationContext context, String orderId) {
        return context.getBean(TransactionTemplate.class).execute(status -> context.getBean(SpringOutboxWriter.class)
                .write(NewMessage.of("Order", orderId, "OrderCreated", "{\"order_id\": \"" + orderId + "\"}")));
    }
}
