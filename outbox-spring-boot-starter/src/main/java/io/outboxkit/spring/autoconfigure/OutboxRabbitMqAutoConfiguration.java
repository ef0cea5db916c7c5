package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.rabbitmq.RabbitMqPublisher;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * A {@link RabbitMqPublisher} as the application's {@link MessagePublisher}, when outbox-rabbitmq is
 * on the class path and {@code outboxkit.rabbitmq.uri} is set ({@link OutboxRabbitMqProperties}).
 * Ordered before {@link OutboxAutoConfiguration}, so the in-process poller delivers through it; an
 * application's own {@link MessagePublisher} bean wins over it. Closed with the context, after the
 * poller has stopped. Not made with {@code outboxkit.poller.enabled=false}: an instance that only
 * writes does not depend on the broker, which may then be down or refuse it without stopping its start.
 */
@AutoConfiguration(before = OutboxAutoConfiguration.class)
@ConditionalOnClass(RabbitMqPublisher.class)
@ConditionalOnProperty("outboxkit.rabbitmq.uri")
@ConditionalOnSwitch(value = "outboxkit.poller.enabled", matchIfMissing = true)
@EnableConfigurationProperties(OutboxRabbitMqProperties.class)
public final class OutboxRabbitMqAutoConfiguration {

    /** Made by Spring Boot from the auto-configuration imports; not for applications to call. */
    public OutboxRabbitMqAutoConfiguration() {
    }

    @Bean
    @ConditionalOnMissingBean(MessagePublisher.class)
    RabbitMqPublisher outboxRabbitMqPublisher(OutboxRabbitMqProperties properties, Environment environment) {
        BrokerOptions.requireOneBroker(environment);
        return new BrokerOptions("RabbitMQ")
                .option("uri", "outboxkit.rabbitmq.uri", properties.uri())
                .option("exchange", "outboxkit.rabbitmq.exchange", properties.exchange())
                .option("timeout", "outboxkit.rabbitmq.timeout", properties.timeout())
                .build(() -> RabbitMqPublisher.builder(properties.uri())
                        .exchange(properties.exchange())
                        .timeout(properties.timeout())
                        .build());
    }
}
