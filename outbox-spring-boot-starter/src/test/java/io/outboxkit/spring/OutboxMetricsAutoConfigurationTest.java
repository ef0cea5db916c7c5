package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.outboxkit.core.IdempotentHandler;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.core.spi.OutboxListener;
import io.outboxkit.micrometer.OutboxMetrics;
import io.outboxkit.spring.autoconfigure.OutboxMetricsAutoConfiguration;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.LazyInitializationBeanFactoryPostProcessor;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.context.ApplicationContext;
import org.springframework.transaction.support.TransactionTemplate;

class OutboxMetricsAutoConfigurationTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY);

    private static final MessagePublisher IGNORING = message -> { };

    private static ApplicationContextRunner context() {
        return Contexts.on(db, DataSourceTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class,
                OutboxMetricsAutoConfiguration.class);
    }

    @Test
    void with_the_applications_meter_registry_the_pollers_deliveries_are_counted_and_the_gauges_read_the_outbox() {
        context().withBean(MeterRegistry.class, SimpleMeterRegistry::new)
                .withBean(MessagePublisher.class, () -> IGNORING)
                .run(context -> {
                    MeterRegistry registry = context.getBean(MeterRegistry.class);
                    write(context, "a");
                    await().atMost(Duration.ofSeconds(10))
                            .until(() -> registry.get("outbox.delivered").counter().count() == 1.0);
                    assertThat(registry.get("outbox.messages").tag("status", "pending").gauge().value()).isZero();
                    assertThat(registry.get("outbox.oldest.pending.age").gauge().value()).isZero();
                    assertThat(registry.get("outbox.batch.size").summary().count()).isGreaterThanOrEqualTo(1);
                });
    }

    @Test
    void the_handlers_of_idempotent_handlers_count_what_they_process() {
        OutboxMessage message = new OutboxMessage(UUID.randomUUID(), 1, "Order", "o-1", "OrderCreated", "{}", Map.of(),
                Instant.now(), 1);
        context().withBean(MeterRegistry.class, SimpleMeterRegistry::new).run(context -> {
            IdempotentHandler handler = context.getBean(IdempotentHandlers.class).create("loyalty", (tx, m) -> { });
            handler.handle(message);
            handler.handle(message);
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            assertThat(registry.get("outbox.consumer.messages").tag("consumer", "loyalty").tag("outcome", "processed")
                    .counter().count()).isEqualTo(1.0);
            assertThat(registry.get("outbox.consumer.messages").tag("consumer", "loyalty").tag("outcome", "duplicate")
                    .counter().count()).isEqualTo(1.0);
        });
    }

    @Test
    void with_spring_boots_metrics_auto_configuration_the_meters_are_bound_once_to_its_registry() {
        context().withConfiguration(AutoConfigurations.of(
                        MetricsAutoConfiguration.class, SimpleMetricsExportAutoConfiguration.class,
                        CompositeMeterRegistryAutoConfiguration.class))
                .withBean(MessagePublisher.class, () -> IGNORING)
                .run(context -> {
                    assertThat(context).hasNotFailed().hasSingleBean(MeterRegistry.class);
                    MeterRegistry registry = context.getBean(MeterRegistry.class);
                    write(context, "b");
                    await().atMost(Duration.ofSeconds(10))
                            .until(() -> registry.get("outbox.delivered").counter().count() == 1.0);
                    assertThat(registry.find("outbox.messages").gauges()).hasSize(3);
                });
    }

    @Test
    void without_a_meter_registry_no_metrics_are_made_and_the_starter_still_starts() {
        context().withBean(MessagePublisher.class, () -> IGNORING).run(context -> {
            assertThat(context).hasNotFailed().doesNotHaveBean(OutboxListener.class);
            assertThat(context).hasBean("outboxPoller");
        });
    }

    @Test
    void without_micrometer_on_the_class_path_the_starter_starts_without_metrics() {
        context().withClassLoader(new FilteredClassLoader("io.micrometer", "io.outboxkit.micrometer"))
                .withBean(MessagePublisher.class, () -> IGNORING)
                .run(context -> {
                    assertThat(context).hasNotFailed().doesNotHaveBean(OutboxListener.class);
                    write(context, "c");
                    await().atMost(Duration.ofSeconds(10))
                            .until(() -> context.getBean(OutboxAdmin.class).counts().pending() == 0);
                });
    }

    @Test
    void without_outbox_micrometer_on_the_class_path_nothing_is_bound_to_the_registry() {
        context().withClassLoader(new FilteredClassLoader(OutboxMetrics.class))
                .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
                .run(context -> {
                    assertThat(context).hasNotFailed().doesNotHaveBean(OutboxListener.class);
                    assertThat(context.getBean(MeterRegistry.class).find("outbox.messages").gauges()).isEmpty();
                });
    }

    @Test
    void an_outbox_metrics_bean_of_the_application_replaces_the_starters_and_hears_the_poller() {
        context().withBean(MeterRegistry.class, SimpleMeterRegistry::new)
                .withBean(OutboxMetrics.class, OutboxMetrics::create)
                .withBean(MessagePublisher.class, () -> IGNORING)
                .run(context -> {
                    assertThat(context).hasSingleBean(OutboxListener.class);
                    MeterRegistry registry = context.getBean(MeterRegistry.class);
                    context.getBean(OutboxMetrics.class).bindTo(registry);
                    write(context, "d");
                    await().atMost(Duration.ofSeconds(10))
                            .until(() -> registry.get("outbox.delivered").counter().count() == 1.0);
                });
    }

    /**
     * Under spring.main.lazy-initialization nothing asks for the starter's listener where no poller
     * runs here, yet the gauges show the outbox all the same.
     */
    @Test
    void under_lazy_initialization_the_gauges_are_in_the_registry_where_another_process_delivers() {
        context().withInitializer(context -> context.addBeanFactoryPostProcessor(new LazyInitializationBeanFactoryPostProcessor()))
                .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
                .withPropertyValues("outboxkit.poller.enabled=false")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(MeterRegistry.class).find("outbox.messages").gauges())
                            .as("the outbox_messages gauges in the application's registry").isNotEmpty();
                });
    }

    private static void write(ApplicationContext context, String orderId) {
        context.getBean(TransactionTemplate.class).executeWithoutResult(status -> context.getBean(SpringOutboxWriter.class)
                .write(NewMessage.of("Order", orderId, "OrderCreated", "{\"order_id\": \"" + orderId + "\"}")));
    }
}
