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

    /** Reads {@code record} with {@link TransportHeaders#read}: headers and value must be UTF-8 text. */
    static SourceRecord of(ConsumerRecord<byte[], byte[]> record) {
        try {
            Map<String, String> headers = new LinkedHashMap<>();
            for (Header header : record.headers()) {
                headers.put(header.key(), header.value() == null ? "" : utf8(header.value(), "header " + header.key()));
            }
            String payload = record.value() == null ? null : utf8(record.value(), "the value");
            return new SourceRecord(record, TransportHeaders.read(headers, payload), null);
        } catch (IllegalArgumentException e) {
            return new SourceRecord(record, null, "unreadable outbox message: " + e.getMessage());
        }
    }

    private static String utf8(byte[] bytes, String what) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(what + " is not UTF-8 text");
        }
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
