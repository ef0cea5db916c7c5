package io.outboxkit.kafka;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.TransportHeaders;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * One polled record on its way through the source: the message read from it (or why it cannot be
 * read), and how often the receiver has failed it. Confined to the source's thread.
 */
final class SourceRecord {

    final ConsumerRecord<byte[], byte[]> record;
    final OutboxMessage message;
    final String unreadable;
    int attempts;
    long retryAtNanos;
    String lastError;

    private SourceRecord(ConsumerRecord<byte[], byte[]> record, OutboxMessage message, String unreadable) {
        this.record = record;
        this.message = message;
        this.unreadable = unreadable;
    }

    /**
     * Reads {@code record} with {@link TransportHeaders#read}: headers and value must be UTF-8 text,
     * the last value of a repeated header counting. A trace context header ({@code traceparent},
     * {@code tracestate}) whose last value is not UTF-8 is left out instead: it never fails a
     * message ({@link TransportHeaders#TRACEPARENT}).
     */
    static SourceRecord of(ConsumerRecord<byte[], byte[]> record) {
        try {
            Map<String, String> headers = new LinkedHashMap<>();
            for (Header header : record.headers()) {
                String value = header.value() == null ? "" : textOrNull(header.value());
                if (value != null) {
                    headers.put(header.key(), value);
                } else if (TransportHeaders.isTraceContext(header.key())) {
                    headers.remove(header.key()); // observability data from a client: dropped, never fatal
                } else {
                    throw new IllegalArgumentException("header " + header.key() + " is not UTF-8 text");
                }
            }
            String payload = record.value() == null ? null : textOrNull(record.value());
            if (record.value() != null && payload == null) {
                throw new IllegalArgumentException("the value is not UTF-8 text");
            }
            return new SourceRecord(record, TransportHeaders.read(headers, payload), null);
        } catch (IllegalArgumentException e) {
            return new SourceRecord(record, null, "unreadable outbox message: " + e.getMessage());
        }
    }


    /** {@code bytes} as UTF-8 text; null when they are not. */
    private static String textOrNull(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** Takes over the attempts, last error and backoff of {@code before}, the same record polled before. */
    void goOnFrom(SourceRecord before) {
        attempts = before.attempts;
        lastError = before.lastError;
        retryAtNanos = before.retryAtNanos;
    }

    /** The ordering key: messages with the same one reach the receiver in offset order, one at a time. */
    String aggregate() {
        return message.aggregateType() + "\u0000" + message.aggregateId();
    }

    /** The message as the receiver gets it: attempts counts this delivery. */
    OutboxMessage forDelivery() {
        return new OutboxMessage(message.id(), message.sequence(), message.aggregateType(), message.aggregateId(),
                message.eventType(), message.payload(), message.headers(), message.createdAt(), attempts + 1);
    }

    /** Where the record is, for log lines. */
    String where() {
        return record.topic() + "-" + record.partition() + "@" + record.offset()
                + (message == null ? "" : " (message " + message.id() + ")");
    }
}
