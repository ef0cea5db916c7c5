package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.kafka.KafkaPublisher;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * A {@link KafkaPublisher} as the application's {@link MessagePublisher}, when outbox-kafka is on
 * the class path and {@code outboxkit.kafka.bootstrap-servers} is set ({@link OutboxKafkaProperties}).
 * Ordered before {@link OutboxAutoConfiguration}, so the in-process poller delivers through it; an
 * application's own {@link MessagePublisher} bean wins over it. Closed with the context, after the
 * poller has stopped. Not made with {@code outboxkit.poller.enabled=false}: an instance that only
 * writes does not depend on the broker, which may then be down or refuse it without stopping its start.
 */
@AutoConfiguration(before = {OutboxAutoConfiguration.class, OutboxRabbitMqAutoConfiguration.class})
@ConditionalOnClass(KafkaPublisher.class)
@ConditionalOnProperty("outboxkit.kafka.bootstrap-servers")
@ConditionalOnSwitch(value = "outboxkit.poller.enabled", matchIfMissing = true)
@EnableConfigurationProperties(OutboxKafkaProperties.class)
public final class OutboxKafkaAutoConfiguration {

    /** Made by Spring Boot from the auto-configuration imports; not for applications to call. */
    public OutboxKafkaAutoConfiguration() {
    }

    @Bean
    @ConditionalOnMissingBean(MessagePublisher.class)
    KafkaPublisher outboxKafkaPublisher(OutboxKafkaProperties properties, Environment environment) {
        BrokerOptions.requireOneBroker(environment);
        return new BrokerOptions("Kafka")
                .option("bootstrapServers", "outboxkit.kafka.bootstrap-servers", properties.bootstrapServers())
                .option("topicTemplate", "outboxkit.kafka.topic", properties.topic())
                .option("clientId", "outboxkit.kafka.client-id", properties.clientId())
                .option("deliveryTimeout", "outboxkit.kafka.delivery-timeout", properties.deliveryTimeout())
                .build(() -> KafkaPublisher.builder(properties.bootstrapServers())
                        .topicTemplate(properties.topic())
                        .clientId(properties.clientId())
                        .deliveryTimeout(properties.deliveryTimeout())
                        .build());
    }
}
