/**
 * The Spring Boot auto-configuration of outboxkit: {@link io.outboxkit.spring.autoconfigure.OutboxAutoConfiguration}
 * and its properties ({@link io.outboxkit.spring.autoconfigure.OutboxProperties}, {@code outboxkit.*}); the
 * optional parts, each on when the application has what it needs: the broker publishers
 * ({@link io.outboxkit.spring.autoconfigure.OutboxKafkaAutoConfiguration},
 * {@link io.outboxkit.spring.autoconfigure.OutboxRabbitMqAutoConfiguration},
 * {@link io.outboxkit.spring.autoconfigure.OutboxNatsAutoConfiguration} and their properties), the metrics
 * ({@link io.outboxkit.spring.autoconfigure.OutboxMetricsAutoConfiguration}) and the {@code outbox} health
 * component ({@link io.outboxkit.spring.autoconfigure.OutboxHealthAutoConfiguration}). The auto-configuration
 * classes are public only for Spring Boot to load them and to be named in {@code before}/{@code after}; everything
 * else here is package-private and may change.
 */
package io.outboxkit.spring.autoconfigure;
