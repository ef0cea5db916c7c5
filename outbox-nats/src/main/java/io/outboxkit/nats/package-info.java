/**
 * NATS JetStream for outbox-core: {@link io.outboxkit.nats.NatsPublisher} delivers outbox messages
 * to a stream (a message is delivered once the stream acknowledged storing it), and
 * {@link io.outboxkit.nats.NatsSource} hands them from a durable pull consumer to the application's
 * receiver (acknowledged only after the receiver returned, order per aggregate kept, failing and
 * unreadable messages dead-lettered). Both are built from strings (URLs, names) with builders that
 * name a wrong option, and never show a password.
 */
package io.outboxkit.nats;
