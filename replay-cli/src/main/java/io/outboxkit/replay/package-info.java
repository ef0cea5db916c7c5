/**
 * {@code replay-cli}: an operator's tool to look at the outbox, put messages back for redelivery,
 * and show that the consumer skips a message it has already processed.
 */
package io.outboxkit.replay;
