package io.outboxkit.spring.autoconfigure;

import io.opentelemetry.api.OpenTelemetry;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxRetention;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.core.spi.OutboxListener;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.spring.IdempotentHandlers;
import io.outboxkit.spring.SpringOutboxWriter;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.LazyInitializationExcludeFilter;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.boot.flyway.autoconfigure.FlywayConfigurationCustomizer;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.env.Environment;

/**
 * The outbox on the application's {@link DataSource}, configured by {@link OutboxProperties}
 * ({@code outboxkit.*}). Every bean is {@link ConditionalOnMissingBean}: declare your own to replace it.
 *
 * <ul>
 *   <li>{@link SpringOutboxWriter}: writes in the caller's Spring transaction (JDBC or JPA); and the
 *       {@link OutboxWriter}, {@link OutboxNames} and {@link OutboxAdmin} it and the others use;</li>
 *   <li>{@link IdempotentHandlers}: the idempotent handlers of a consumer written in Spring;</li>
 *   <li>the library's schema at start (when Flyway is on the class path and
 *       {@code outboxkit.schema.manage} is not false), after the application's own Flyway; and
 *       that Flyway, where the schema holds the library's tables only, baselined at version 0 so
 *       that its own first migration still applies;</li>
 *   <li>an {@link OutboxMonitor}, the outbox's figures, cached, for health and metrics;</li>
 *   <li>an {@link OutboxPoller}, started and stopped with the context, delivering through the
 *       application's {@link MessagePublisher} bean and telling every {@link OutboxListener} bean
 *       what it does (every {@link OutboxPoller} bean of the application's own is started and
 *       stopped the same way): no publisher, no poller (one INFO line says so);
 *       {@code outboxkit.poller.enabled=true} without one fails the start;
 *       {@code outboxkit.poller.enabled=false}, never a poller started, nor a broker publisher made;</li>
 *   <li>spans, when the application has an {@link OpenTelemetry} bean (Spring Boot's OpenTelemetry
 *       support makes one): the poller's PRODUCER spans and the handlers' CONSUMER spans are made
 *       with it, whether or not it is installed as the global one; without one, with the global one
 *       once installed;</li>
 *   <li>{@link OutboxRetention} on a schedule, when {@code outboxkit.retention.enabled=true}.</li>
 * </ul>
 *
 * <p>Its switches ({@code outboxkit.poller.enabled}, {@code outboxkit.retention.enabled},
 * {@code outboxkit.schema.manage}) are read as Spring binds them: {@code on}, {@code yes} and
 * {@code 1} are true, {@code off}, {@code no} and {@code 0} false, and anything else fails the start.
 *
 * <p>The other auto-configurations of the starter build on it: the broker ones
 * ({@link OutboxKafkaAutoConfiguration}, {@link OutboxRabbitMqAutoConfiguration},
 * {@link OutboxNatsAutoConfiguration}) contribute a {@link MessagePublisher} bean, ordered before
 * this one and {@link ConditionalOnMissingBean}, so that an application's own publisher wins, and
 * only where a poller may run here (not with {@code outboxkit.poller.enabled=false});
 * {@link OutboxMetricsAutoConfiguration} contributes an {@link OutboxListener} and
 * {@link OutboxHealthAutoConfiguration} the {@code outbox} health component, both ordered after
 * this one and reading its {@link OutboxMonitor} and {@link OutboxPoller}.
 */
@AutoConfiguration(after = DataSourceAutoConfiguration.class,
        afterName = "org.springframework.boot.flyway.autoconfigure.FlywayAutoConfiguration")
@ConditionalOnSingleCandidate(DataSource.class)
@EnableConfigurationProperties(OutboxProperties.class)
public final class OutboxAutoConfiguration {

    /** Made by Spring Boot from the auto-configuration imports; not for applications to call. */
    public OutboxAutoConfiguration() {
    }

    @Bean
    @ConditionalOnMissingBean
    OutboxSettings outboxSettings(OutboxProperties properties, DataSource dataSource) {
        return OutboxSettings.check(properties, Jdbi.create(dataSource));
    }

    /**
     * The outbox's table names and channel, from {@code outboxkit.schema.*}. Every other bean of the
     * starter takes its names from this bean, so an {@link OutboxNames} bean of the application's
     * own names the outbox for all of them.
     */
    @Bean
    @ConditionalOnMissingBean
    public OutboxNames outboxNames(OutboxSettings settings) {
        return settings.names();
    }

    /**
     * The library's writer for those names, with the limits {@code outboxkit.max-payload-bytes} and
     * {@code outboxkit.max-header-bytes}, used by the {@link SpringOutboxWriter}.
     */
    @Bean
    @ConditionalOnMissingBean
    public OutboxWriter outboxWriter(OutboxSettings settings, OutboxNames names) {
        return settings.writer(names);
    }

    /** The writer that joins the caller's Spring transaction. */
    @Bean
    @ConditionalOnMissingBean
    public SpringOutboxWriter springOutboxWriter(DataSource dataSource, OutboxWriter writer) {
        return SpringOutboxWriter.create(dataSource, writer);
    }

    /** Inspection and requeue of the outbox's messages. */
    @Bean
    @ConditionalOnMissingBean
    public OutboxAdmin outboxAdmin(OutboxSettings settings, OutboxNames names) {
        return OutboxAdmin.create(settings.jdbi(), names);
    }

    /**
     * The outbox's figures (pending, dead, the oldest pending message's age), read at most once a
     * second however many ask: the health component and the metrics share it.
     */
    @Bean
    @ConditionalOnMissingBean
    public OutboxMonitor outboxMonitor(OutboxSettings settings, OutboxNames names) {
        return OutboxMonitor.create(settings.jdbi(), names);
    }

    /**
     * Idempotent handlers, under {@code outboxkit.consumer.name} unless given a name, telling every
     * {@link OutboxListener} bean what they do, their CONSUMER spans made with the application's
     * {@link OpenTelemetry} bean when it has one.
     */
    @Bean
    @ConditionalOnMissingBean
    public IdempotentHandlers idempotentHandlers(DataSource dataSource, OutboxNames names, OutboxProperties properties,
                                                 ObjectProvider<OutboxListener> listeners,
                                                 ObjectProvider<OpenTelemetry> openTelemetry) {
        IdempotentHandlers handlers = IdempotentHandlers.of(dataSource, names, properties.consumer().name(),
                listeners.orderedStream().toList())
                .withIdleInTransactionTimeout(properties.consumer().idleInTransactionTimeout());
        OpenTelemetry bean = openTelemetry.getIfUnique();
        return bean == null ? handlers : handlers.withOpenTelemetry(bean);
    }

    /** The library's schema, applied at start with Flyway unless {@code outboxkit.schema.manage=false}. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({Flyway.class, OutboxMigrations.class})
    @ConditionalOnSwitch(value = "outboxkit.schema.manage", matchIfMissing = true)
    static class SchemaConfiguration {

        @Bean
        @ConditionalOnMissingBean
        OutboxSchemaInitializer outboxSchemaInitializer(DataSource dataSource, OutboxNames names) {
            return new OutboxSchemaInitializer(dataSource, names);
        }

        /** Under spring.main.lazy-initialization the schema must still be applied at start. */
        @Bean
        static LazyInitializationExcludeFilter outboxSchemaInitializerIsEager() {
            return LazyInitializationExcludeFilter.forBeanTypes(OutboxSchemaInitializer.class);
        }

        /**
         * With Spring Boot's Flyway: the application's migrations start their history in a schema
         * that holds only the library's tables (its first start had no migrations of its own), last
         * of the customizers so that a {@code baseline-on-migrate} an application's own customizer set is
         * seen and kept (one set in its properties is read from the {@link Environment}).
         */
        @Configuration(proxyBeanMethods = false)
        @ConditionalOnClass(FlywayConfigurationCustomizer.class)
        static class ApplicationFlywayConfiguration {

            @Bean
            @Order(Ordered.LOWEST_PRECEDENCE)
            FlywayConfigurationCustomizer outboxBaselineBesideOutbox(OutboxNames names, Environment environment) {
                return new BaselineBesideOutbox(names, BaselineBesideOutbox.baselineSetBy(environment));
            }
        }
    }

    /**
     * The poller, unless turned off: the starter's own when the application has a publisher for it,
     * and started with the context whichever made it, with every other poller of the application's. The lifecycle bean is declared after the
     * poller, so its condition sees the starter's poller as well as an application's own.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnSwitch(value = "outboxkit.poller.enabled", matchIfMissing = true)
    static class PollerConfiguration {

        @Bean
        @ConditionalOnBean(MessagePublisher.class)
        @ConditionalOnMissingBean
        OutboxPoller outboxPoller(OutboxSettings settings, OutboxNames names, MessagePublisher publisher,
                                  ObjectProvider<OutboxListener> listeners, ObjectProvider<OpenTelemetry> openTelemetry) {
            return settings.poller(publisher, names, listeners.orderedStream().toList(), openTelemetry.getIfUnique());
        }

        /** Every {@link OutboxPoller} bean: an application with two outboxes may declare a poller for each. */
        @Bean
        @ConditionalOnBean(OutboxPoller.class)
        @ConditionalOnMissingBean(name = "outboxPollerLifecycle")
        OutboxPollerLifecycle outboxPollerLifecycle(ObjectProvider<OutboxPoller> pollers) {
            return new OutboxPollerLifecycle(pollers.orderedStream().toList());
        }

        /** Lazy initialization would leave the poller unmade, and so never started. */
        @Bean
        static LazyInitializationExcludeFilter outboxPollerIsEager() {
            return LazyInitializationExcludeFilter.forBeanTypes(OutboxPollerLifecycle.class);
        }
    }

    /** No publisher: an INFO line, or a failed start when the poller was asked for explicitly. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnMissingBean({MessagePublisher.class, OutboxPoller.class})
    static class NoPublisherConfiguration {

        @Bean
        PollerWithoutPublisher outboxPollerWithoutPublisher(OutboxProperties properties) {
            return new PollerWithoutPublisher(properties.poller().enabled());
        }
    }

    /** Retention on a schedule, when {@code outboxkit.retention.enabled=true}. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnSwitch("outboxkit.retention.enabled")
    static class RetentionConfiguration {

        @Bean
        @ConditionalOnMissingBean
        OutboxRetention outboxRetention(OutboxSettings settings, OutboxNames names) {
            return settings.retention(names);
        }

        @Bean
        @ConditionalOnMissingBean(name = "outboxRetentionSchedule")
        OutboxRetentionSchedule outboxRetentionSchedule(OutboxRetention retention, OutboxSettings settings) {
            return new OutboxRetentionSchedule(retention, settings.properties().retention().interval());
        }
    }
}
