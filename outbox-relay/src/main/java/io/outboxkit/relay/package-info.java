/**
 * The relay: an {@link io.outboxkit.core.OutboxPoller} delivering outbox messages to the consumer
 * over HTTP, at least once, with an admin HTTP port for health and metrics.
 *
 * <p>{@link io.outboxkit.relay.Relay} is the running relay, {@link io.outboxkit.relay.RelayConfig}
 * its settings, {@link io.outboxkit.relay.RelayMain} the process.
 */
package io.outboxkit.relay;
