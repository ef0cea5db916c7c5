/**
 * What the demo services share: settings from the environment, the database, the process
 * lifecycle, and the JSON envelope the relay delivers to the consumer.
 */
package io.outboxkit.app;
