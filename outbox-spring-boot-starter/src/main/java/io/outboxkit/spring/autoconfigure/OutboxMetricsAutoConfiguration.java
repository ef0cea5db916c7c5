package io.outboxkit.spring.autoconfigure;

import io.micrometer.core.instrument.MeterRegistry;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.spi.OutboxListener;
import io.outboxkit.micrometer.OutboxMetrics;
import org.springframework.boot.LazyInitializationExcludeFilter;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.context.annotation.Bean;

/**
 * The outbox's meters ({@link OutboxMetrics}: {@code outbox_messages}, {@code outbox_oldest_pending_age_seconds},
 * {@code outbox_delivered_total}, {@code outbox_delivery_latency_seconds}...) in the application's
 * {@link MeterRegistry}, when outbox-micrometer is on the class path and the application has a
 * registry (Spring Boot's, with spring-boot-micrometer-metrics or the actuator starter, or one of its
 * own). The poller of this application reports its deliveries to them; the two gauges read the
 * {@link OutboxMonitor} bean, so they show the outbox even where another process delivers.
 *
 * <p>Backs off when the application declares an {@link OutboxMetrics} bean of its own (Spring Boot
 * binds that one, and the poller is told of its events as of every {@link OutboxListener} bean).
 * Without Micrometer or without a registry, nothing of this is made. Under
 * {@code spring.main.lazy-initialization} the meters are bound at start all the same.
 */
@AutoConfiguration(after = OutboxAutoConfiguration.class,
        afterName = "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration")
@ConditionalOnClass({MeterRegistry.class, OutboxMetrics.class})
@ConditionalOnSingleCandidate(MeterRegistry.class)
@ConditionalOnBean(OutboxMonitor.class)
public final class OutboxMetricsAutoConfiguration {

    /** Made by Spring Boot from the auto-configuration imports; not for applications to call. */
    public OutboxMetricsAutoConfiguration() {
    }

    /** Declared as its class, not as an {@link OutboxListener}, so that the filter below can tell it apart. */
    @Bean
    @ConditionalOnMissingBean({OutboxMetrics.class, MeteredOutboxListener.class})
    MeteredOutboxListener outboxMetricsListener(MeterRegistry registry, OutboxMonitor monitor) {
        return new MeteredOutboxListener(registry, monitor);
    }

    /**
     * The meters are bound when the listener is made; under spring.main.lazy-initialization nothing
     * would ask for it where no poller runs here, and the gauges would never be in the registry.
     */
    @Bean
    static LazyInitializationExcludeFilter outboxMetricsListenerIsEager() {
        return LazyInitializationExcludeFilter.forBeanTypes(MeteredOutboxListener.class);
    }
}
