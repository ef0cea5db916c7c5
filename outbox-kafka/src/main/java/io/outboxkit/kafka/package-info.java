/**
 * Apache Kafka for the outbox: {@link io.outboxkit.kafka.KafkaPublisher}, a
 * {@link io.outboxkit.core.spi.MessagePublisher} that writes each message as a record laid out as
 * Debezium's outbox event router writes it (topic per aggregate type, key = aggregate id, the
 * envelope in headers), and {@link io.outboxkit.kafka.KafkaSource}, a
 * {@link io.outboxkit.core.spi.MessageSource} that reads them back in a consumer group and commits
 * offsets only after the application applied them. Only kafka-clients is needed at run time.
 */
package io.outboxkit.kafka;
