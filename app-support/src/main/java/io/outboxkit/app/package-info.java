/**
 * What the demo services share: settings from the environment, the database, the process
 * lifecycle, the JSON envelope the relay delivers to the consumer, and the strict parsing of
 * what clients send. {@code http} holds the JSON API conventions and health, {@code delivery}
 * the HTTP client that delivers messages to the consumer.
 */
package io.outboxkit.app;
