/**
 * Delivering outbox messages to a consumer over HTTP: {@link io.outboxkit.app.delivery.HttpPublisher},
 * the client the relay delivers with (and replay-cli sends one message with), and the protocol's
 * names and limits, which the consumer's endpoints answer by.
 */
package io.outboxkit.app.delivery;
