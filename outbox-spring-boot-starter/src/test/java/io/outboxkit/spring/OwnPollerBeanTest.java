package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.core.OutboxPoller;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * docs/spring-boot.md: "Every bean is @ConditionalOnMissingBean: declare your own to replace one (an
 * OutboxPoller built your way, say; the starter still starts and stops it)."
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

    /** The application's poller, built its way, its publisher not a bean. */
    @Configuration(proxyBeanMethods = false)
    static class OwnPoller {
        @Bean
        OutboxPoller outboxPoller(DataSource dataSource) {
            return OutboxPoller.builder(Jdbi.create(dataSource), message -> { })
                    .name("own-poller").batchSize(50).build();
        }
    }
}
