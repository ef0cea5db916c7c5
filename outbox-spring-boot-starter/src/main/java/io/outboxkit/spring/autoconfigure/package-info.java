/**
 * The Spring Boot auto-configuration of outboxkit ({@link io.outboxkit.spring.autoconfigure.OutboxAutoConfiguration})
 * and its properties ({@link io.outboxkit.spring.autoconfigure.OutboxProperties}, {@code outboxkit.*}).
 * Everything else here is package-private and may change.
 */
package io.outboxkit.spring.autoconfigure;
