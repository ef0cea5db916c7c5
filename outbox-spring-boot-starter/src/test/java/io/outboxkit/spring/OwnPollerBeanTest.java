package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.spring.autoconfigure.OutboxHealthAutoConfiguration;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Callable;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.health.autoconfigure.registry.HealthContributorRegistryAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationContext;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;

/**
 * docs/spring-boot.md: "Every bean is @ConditionalOnMissingBean: declare your own to replace one (an
 * OutboxPoller built your way, say; the starter still starts and stops it, unless
 * outboxkit.poller.enabled=false)": every one of them, and the health component reports those it runs.
 */
class OwnPollerBeanTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY);

    /**
     * An application that builds its OutboxPoller with its publisher inside (no MessagePublisher bean,
     * as OutboxPoller.builder(jdbi, publisher) invites) gets a poller that is never started: the
     * starter's lifecycle bean is in a configuration conditional on a MessagePublisher bean, and the
     * no-publisher configuration backs off too because an OutboxPoller exists. Nothing is delivered,
     * nothing is logged, and the health component says "stopped".
     */
    @Test
    void an_outbox_poller_bean_of_the_application_built_with_its_own_publisher_is_started_with_the_context() {
        Contexts.on(db).withUserConfiguration(OwnPoller.class).run(context -> {
            assertThat(context).hasNotFailed();
            OutboxPoller poller = context.getBean(OutboxPoller.class);
            assertThat(poller.isRunning()).as("the application's own poller, started by the starter").isTrue();
            context.close();
            assertThat(poller.isRunning()).isFalse();
        });
    }

    /**
     * An application with two outboxes declares two pollers (one @Primary, as Spring's failure
     * analysis of a single one suggests): each is started with the context and stopped with it.
     */
    @Test
    void every_outbox_poller_bean_of_the_application_is_started_and_stopped_with_the_context() {
        Contexts.on(db).withUserConfiguration(TwoPollers.class).run(context -> {
            assertThat(context).hasNotFailed();
            OutboxPoller orders = context.getBean("ordersPoller", OutboxPoller.class);
            OutboxPoller audit = context.getBean("auditPoller", OutboxPoller.class);
            assertThat(orders.isRunning()).as("the application's first poller").isTrue();
            assertThat(audit.isRunning()).as("the application's second poller (its audit outbox)").isTrue();
            context.close();
            assertThat(orders.isRunning()).isFalse();
            assertThat(audit.isRunning()).isFalse();
        });
    }

    /**
     * docs/spring-boot.md: "stops them all at once, each finishing its batch". Two pollers each hold a
     * batch in a publisher that waits for the test: once the context's close has begun, both stop
     * claiming while both batches are still in hand (one after the other, the second would claim on
     * while the first drained, and the stop would take a lease per poller); released together, each
     * records its batch and claims no other.
     */
    @Test
    void closing_the_context_stops_every_poller_claiming_at_once_and_each_finishes_its_batch() throws Exception {
        Contexts.on(db).withUserConfiguration(HeldPollers.class).run(context -> {
            assertThat(context).hasNotFailed();
            HeldPollers held = context.getBean(HeldPollers.class);
            for (OutboxNames names : List.of(HeldPollers.FIRST, HeldPollers.SECOND)) {
                db.jdbi().useTransaction(handle -> {
                    for (int i = 0; i < 3; i++) {
                        OutboxWriter.create(names).write(handle, NewMessage.of("Order", "o-" + i, "OrderCreated", "{}"));
                    }
                });
            }
            OutboxPoller first = context.getBean("firstPoller", OutboxPoller.class);
            OutboxPoller second = context.getBean("secondPoller", OutboxPoller.class);
            awaitTrue(() -> held.first.size() == 1 && held.second.size() == 1, "each poller holds its first batch");
            Thread closer = new Thread(context::close, "test-context-close");
            closer.start();
            try {
                awaitTrue(() -> !first.isRunning() && !second.isRunning(),
                        "both pollers stopped claiming while both batches are still in hand");
            } finally {
                held.release.countDown();
            }
            closer.join(TimeUnit.SECONDS.toMillis(20));
            assertThat(closer.isAlive()).as("the context's close returned once the batches were recorded").isFalse();
            assertThat(held.first).as("what the first poller delivered").hasSize(1);
            assertThat(held.second).as("what the second poller delivered").hasSize(1);
            for (OutboxNames names : List.of(HeldPollers.FIRST, HeldPollers.SECOND)) {
                List<String> rows = db.jdbi().withHandle(handle -> handle.createQuery(
                        "SELECT status || '/' || attempts FROM " + names.qualifiedOutboxTable() + " ORDER BY seq")
                        .mapTo(String.class).list());
                assertThat(rows)
                        .as("%s: the batch in hand recorded, the rest never claimed", names.qualifiedOutboxTable())
                        .containsExactly("PUBLISHED/1", "PENDING/0", "PENDING/0");
            }
        });
    }

    /** Within 10 s: well below the 30 s lease, which a stop one poller after the other waits out first. */
    private static void awaitTrue(Callable<Boolean> condition, String what) {
        await(what).atMost(Duration.ofSeconds(10)).until(condition);
    }

    /** Two pollers, one stopped: the health component is DOWN and says which. */
    @Test
    void the_health_component_reports_each_poller_and_is_down_when_one_is_stopped() {
        withHealth().withUserConfiguration(TwoPollers.class).run(context -> {
            assertThat(health(context).getStatus()).isEqualTo(Status.UP);
            assertThat(health(context).getDetails()).containsEntry("poller", "running")
                    .containsEntry("pollers", Map.of("orders", "running", "audit", "running"));
            context.getBean("auditPoller", OutboxPoller.class).close();
            Health health = health(context);
            assertThat(health.getStatus()).isEqualTo(Status.DOWN);
            assertThat(health.getDetails()).containsEntry("poller", "stopped")
                    .containsEntry("pollers", Map.of("orders", "running", "audit", "stopped"));
        });
    }

    /**
     * Three pollers of the same name, two on one outbox and one on another (legitimate: a name says
     * what a poller delivers, not which table): the health component reports each, by name and outbox
     * table and, on the same outbox, numbered in start order, so a stopped one is not hidden behind a
     * running one's entry.
     */
    @Test
    void the_health_component_reports_each_of_several_pollers_that_share_a_name() {
        withHealth().withUserConfiguration(PollersOneName.class).withPropertyValues("audit-poller-name=orders")
                .run(context -> {
                    assertThat(health(context).getDetails()).containsEntry("pollers", Map.of("orders (outbox) #1", "running",
                            "orders (audit_outbox.outbox)", "running", "orders (outbox) #2", "running"));
                    context.getBean("auditPoller", OutboxPoller.class).close();
                    context.getBean("ordersPoller2", OutboxPoller.class).close();
                    Health health = health(context);
                    assertThat(health.getStatus()).isEqualTo(Status.DOWN);
                    assertThat(health.getDetails()).containsEntry("pollers", Map.of("orders (outbox) #1", "running",
                            "orders (audit_outbox.outbox)", "stopped", "orders (outbox) #2", "stopped"));
                });
    }

    /**
     * docs/spring-boot.md: "Where another process delivers (outboxkit.poller.enabled=false), poller is
     * none". An application that declares its own OutboxPoller bean and turns the poller off (the
     * relay delivers) is not reported DOWN because that never-started poller is "stopped".
     */
    @Test
    void poller_disabled_with_an_own_poller_bean_reports_poller_none_and_up() {
        withHealth().withUserConfiguration(OwnPoller.class).withPropertyValues("outboxkit.poller.enabled=false")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(OutboxPoller.class).isRunning()).isFalse();
                    Health health = health(context);
                    assertThat(health.getDetails()).containsEntry("poller", "none");
                    assertThat(health.getStatus()).isEqualTo(Status.UP);
                });
    }

    private static ApplicationContextRunner withHealth() {
        return Contexts.on(db, OutboxHealthAutoConfiguration.class, HealthContributorAutoConfiguration.class,
                HealthContributorRegistryAutoConfiguration.class);
    }

    private static Health health(ApplicationContext context) {
        return ((HealthIndicator) context.getBean("outboxHealthIndicator")).health();
    }

    /** The application's poller, built its way, its publisher not a bean. */
    @Configuration(proxyBeanMethods = false)
    static class OwnPoller {
        @Bean
        OutboxPoller outboxPoller(DataSource dataSource) {
            return OutboxPoller.builder(Jdbi.create(dataSource), message -> { })
                    .name("own-poller").batchSize(50).build();
        }
    }

    /** Two outboxes, a poller each, whose publishers hold their batch until the test releases them. */
    @Configuration(proxyBeanMethods = false)
    static class HeldPollers {
        static final OutboxNames FIRST = OutboxNames.inSchema("held_first");
        static final OutboxNames SECOND = OutboxNames.inSchema("held_second");

        final List<UUID> first = new CopyOnWriteArrayList<>();
        final List<UUID> second = new CopyOnWriteArrayList<>();
        final CountDownLatch release = new CountDownLatch(1);

        @Bean
        @Primary
        OutboxPoller firstPoller(DataSource dataSource) {
            return held(dataSource, FIRST, first);
        }

        @Bean
        OutboxPoller secondPoller(DataSource dataSource) {
            return held(dataSource, SECOND, second);
        }

        private OutboxPoller held(DataSource dataSource, OutboxNames names, List<UUID> delivered) {
            OutboxMigrations.builder(dataSource).names(names).build().apply();
            return OutboxPoller.builder(Jdbi.create(dataSource), message -> {
                delivered.add(message.id());
                release.await();
            }).names(names).name(names == FIRST ? "first" : "second").batchSize(1).build();
        }
    }

    /** TwoPollers, and a second poller on the first outbox; with audit-poller-name=orders, all named "orders". */
    @Configuration(proxyBeanMethods = false)
    @Import(TwoPollers.class)
    static class PollersOneName {
        @Bean
        OutboxPoller ordersPoller2(DataSource dataSource) {
            return idle(dataSource, OutboxNames.DEFAULT, "orders");
        }
    }

    /** Two outboxes, a poller each: "orders" and "audit" (or the property audit-poller-name). */
    @Configuration(proxyBeanMethods = false)
    static class TwoPollers {
        @Bean
        @Primary
        OutboxPoller ordersPoller(DataSource dataSource) {
            return idle(dataSource, OutboxNames.DEFAULT, "orders");
        }

        @Bean
        OutboxPoller auditPoller(DataSource dataSource, @Value("${audit-poller-name:audit}") String name) {
            return idle(dataSource, AUDIT, name);
        }
    }

    private static final OutboxNames AUDIT = OutboxNames.inSchema("audit_outbox");

    /** A poller that delivers to nowhere; the starter makes the default outbox's tables, this the others'. */
    private static OutboxPoller idle(DataSource dataSource, OutboxNames names, String name) {
        if (!names.equals(OutboxNames.DEFAULT)) {
            OutboxMigrations.builder(dataSource).names(names).build().apply();
        }
        return OutboxPoller.builder(Jdbi.create(dataSource), message -> { }).names(names).name(name).build();
    }
}
