/**
 * Which broker a service talks to, from the environment: the relay's sink ({@code SINK}) and the
 * consumer's source ({@code SOURCE}), with each broker's settings, read and checked in one place
 * ({@link io.outboxkit.app.broker.BrokerSettings}) and turned into outbox-core's
 * {@link io.outboxkit.core.spi.MessagePublisher} or {@link io.outboxkit.core.spi.MessageSource}.
 */
package io.outboxkit.app.broker;
