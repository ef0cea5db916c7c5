/**
 * A real single-node Apache Kafka broker for development and tests: {@code run.sh} and the tests of
 * {@code outbox-kafka} start it so the system runs through Kafka on a machine with nothing but a
 * JDK. Not for production.
 */
package io.outboxkit.devkafka;
