package io.outboxkit.kafka;

import io.outboxkit.core.spi.ShortDeadLetter;
import io.outboxkit.core.spi.Texts;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The source's dead-letter topic: a record copied there byte for byte (key, value, headers,
 * timestamp) with headers saying where it came from and why it was given up. A copy counts only
 * once the broker confirmed it ({@code acks=all}). A copy the producer or the broker refuses as too
 * large is sent short instead, in the shape of {@link ShortDeadLetter}: without the record's own
 * headers, then without its value too. Thread-safe.
 */
final class DeadLetters implements AutoCloseable {

    /** The error that sent the record here. */
    static final String ERROR = "dead_letter_error";
    /** The topic, partition and offset it was read from. */
    static final String TOPIC = "dead_letter_topic";
    static final String PARTITION = "dead_letter_partition";
    static final String OFFSET = "dead_letter_offset";
    /** The consumer group that gave it up. */
    static final String CONSUMER = "dead_letter_consumer";
    /** How often the receiver failed it (0: it could not be read). */
    static final String ATTEMPTS = "dead_letter_attempts";
    /** The timestamp the record had (epoch milliseconds); the copy carries the time it was made. */
    static final String TIMESTAMP = "dead_letter_timestamp";
    private static final List<String> ADDED = List.of(ERROR, TOPIC, PARTITION, OFFSET, CONSUMER, ATTEMPTS, TIMESTAMP);
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    /**
     * The value of a copy without its body: empty, not null, which Kafka takes as a tombstone (a
     * compacted dead-letter topic would delete the aggregate's earlier dead letters of that key).
     */
    private static final byte[] NO_VALUE = new byte[0];

    private final KafkaProducer<byte[], byte[]> producer;
    /** The longest error text carried in the copy's header. */
    private static final int MAX_ERROR_LENGTH = 4000;

    private final String topic;
    private final String consumer;

    DeadLetters(Map<String, Object> producerProperties, String topic, String consumer) {
        Map<String, Object> props = new LinkedHashMap<>(producerProperties);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis() / 2);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, TIMEOUT.toMillis() / 2);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        this.producer = new KafkaProducer<>(props);
        this.topic = topic;
        this.consumer = consumer;
    }

    /** The topic dead letters go to. */
    String topic() {
        return topic;
    }

    /**
     * Copies {@code record} to the dead-letter topic with {@code error}; returns once the broker
     * confirmed it.
     *
     * @throws KafkaException when it was not confirmed within about 10 seconds (the record must then
     *                        not be acknowledged)
     */
    void send(ConsumerRecord<byte[], byte[]> record, String error, int attempts) throws InterruptedException {
        String shown = Texts.abbreviate(error, MAX_ERROR_LENGTH);
        List<ShortDeadLetter.Header<byte[]>> own = new ArrayList<>();
        for (Header header : record.headers()) {
            if (!ADDED.contains(header.key())) {
                // The limit is in characters, as the outbox's text columns count them, not UTF-8 bytes.
                own.add(new ShortDeadLetter.Header<>(header.key(), header.value(),
                        header.value() == null ? 0 : new String(header.value(), StandardCharsets.UTF_8).length()));
            }
        }
        AtomicReference<RecordTooLargeException> refused = new AtomicReference<>();
        ShortDeadLetter.Copy<byte[], InterruptedException> confirmed = (kept, shownError, truncated, withBody) -> {
            RecordHeaders headers = new RecordHeaders();
            kept.forEach(header -> headers.add(header.name(), header.value()));
            withOurs(headers, record, shownError, attempts);
            if (truncated != null) {
                add(headers, ShortDeadLetter.TRUNCATED, truncated);
            }
            try {
                confirm(record, headers, withBody ? record.value() : NO_VALUE);
                return true;
            } catch (RecordTooLargeException e) {
                // Too large for max.request.size or the topic (the publisher took it just under the limit):
                // without a shorter copy the record would stay at its partition's head, retried for ever.
                refused.set(e);
                return false;
            }
        };
        if (!ShortDeadLetter.send(own, shown, ShortDeadLetter.error(shown), true, confirmed)) {
            throw new KafkaException("dead-letter topic " + topic + " did not take even the record's headers: "
                    + refused.get().getMessage(), refused.get());
        }
    }

    private RecordHeaders withOurs(RecordHeaders headers, ConsumerRecord<byte[], byte[]> record, String error, int attempts) {
        add(headers, ERROR, error);
        add(headers, TOPIC, record.topic());
        add(headers, PARTITION, Integer.toString(record.partition()));
        add(headers, OFFSET, Long.toString(record.offset()));
        add(headers, CONSUMER, consumer);
        add(headers, ATTEMPTS, Integer.toString(attempts));
        add(headers, TIMESTAMP, Long.toString(record.timestamp()));
        return headers;
    }

    /** Sends the copy and waits for its confirmation; a RecordTooLargeException is thrown as itself. */
    private void confirm(ConsumerRecord<byte[], byte[]> record, Headers headers, byte[] value)
            throws InterruptedException {
        try {
            // The copy's own time: one stamped with a record's old time (read by a consumer back after a
            // long stop) would fall to the dead-letter topic's time-based retention at once.
            producer.send(new ProducerRecord<>(topic, null, null, record.key(), value, headers))
                    .get(TIMEOUT.toMillis() * 2, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RecordTooLargeException tooLarge) {
                throw tooLarge;
            }
            throw new KafkaException("dead-letter topic " + topic + " did not take the record: " + e.getCause().getMessage(),
                    e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new KafkaException("dead-letter topic " + topic + " did not confirm the record in time", e);
        }
    }

    private static void add(RecordHeaders headers, String name, String value) {
        headers.add(name, bytes(value));
    }

    private static byte[] bytes(String value) {
        return value.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        producer.close(TIMEOUT);
    }
}
