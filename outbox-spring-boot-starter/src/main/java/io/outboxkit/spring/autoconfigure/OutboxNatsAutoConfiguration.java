package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.nats.NatsPublisher;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * A {@link NatsPublisher} (JetStream) as the application's {@link MessagePublisher}, when outbox-nats
 * is on the class path and {@code outboxkit.nats.url} is set ({@link OutboxNatsProperties}). Ordered
 * before {@link OutboxAutoConfiguration}, so the in-process poller delivers through it; an
 * application's own {@link MessagePublisher} bean, or a broker configured before it (Kafka, then
 * RabbitMQ), wins over it. Closed with the context, after the poller has stopped. It is given the
 * context's {@link OutboxNames} (default names without one), so that the repair statement in the
 * error of a value NATS would trim names the outbox the poller reads.
 * Not made with {@code outboxkit.poller.enabled=false}: an instance that only writes does not
 * depend on the broker, which may then be down or refuse it without stopping its start.
 */
@AutoConfiguration(before = OutboxAutoConfiguration.class, after = OutboxRabbitMqAutoConfiguration.class)
@ConditionalOnClass(NatsPublisher.class)
@ConditionalOnProperty("outboxkit.nats.url")
@ConditionalOnSwitch(value = "outboxkit.poller.enabled", matchIfMissing = true)
@EnableConfigurationProperties(OutboxNatsProperties.class)
public final class OutboxNatsAutoConfiguration {

    /** Made by Spring Boot from the auto-configuration imports; not for applications to call. */
    public OutboxNatsAutoConfiguration() {
    }

    @Bean
    @ConditionalOnMissingBean(MessagePublisher.class)
    NatsPublisher outboxNatsPublisher(OutboxNatsProperties properties, Environment environment,
                                      ObjectProvider<OutboxNames> names) {
        BrokerOptions.requireOneBroker(environment);
        return new BrokerOptions("NATS")
                .option("servers", "outboxkit.nats.url", properties.url())
                .option("stream", "outboxkit.nats.stream", properties.stream())
                .option("subjectPrefix", "outboxkit.nats.subject-prefix", properties.subjectPrefix())
                .option("publishTimeout", "outboxkit.nats.publish-timeout", properties.publishTimeout())
                .build(() -> NatsPublisher.builder(properties.url())
                        .stream(properties.stream())
                        .subjectPrefix(properties.subjectPrefix())
                        .publishTimeout(properties.publishTimeout())
                        .outbox(names.getIfAvailable(() -> OutboxNames.DEFAULT))
                        .build());
    }
}
