package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.OutboxMonitor;
import java.util.List;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * The {@code outbox} health component, when Spring Boot's health (spring-boot-health, which the
 * actuator starter brings) is on the class path: see {@code OutboxHealthIndicator} for when it is
 * DOWN, and {@link OutboxProperties.Health} for its threshold. {@code management.health.outbox.enabled=false}
 * turns it off; a bean named {@code outboxHealthIndicator} replaces it.
 */
@AutoConfiguration(after = OutboxAutoConfiguration.class,
        beforeName = "org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration")
@ConditionalOnClass(HealthIndicator.class)
@ConditionalOnBean(OutboxMonitor.class)
@ConditionalOnEnabledHealthIndicator("outbox")
public final class OutboxHealthAutoConfiguration {

    /** Made by Spring Boot from the auto-configuration imports; not for applications to call. */
    public OutboxHealthAutoConfiguration() {
    }

    /** Named so that Spring Boot calls the component {@code outbox}. */
    @Bean
    @ConditionalOnMissingBean(name = "outboxHealthIndicator")
    HealthIndicator outboxHealthIndicator(OutboxMonitor monitor, ObjectProvider<OutboxPollerLifecycle> lifecycle,
                                          OutboxProperties properties) {
        // The pollers the starter starts, not every OutboxPoller bean: one it does not start
        // (outboxkit.poller.enabled=false) would be reported stopped for ever.
        OutboxPollerLifecycle pollers = lifecycle.getIfAvailable();
        return new OutboxHealthIndicator(monitor, pollers == null ? List.of() : pollers.pollers(),
                properties.health().maxPendingAge());
    }
}
