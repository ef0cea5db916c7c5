package io.outboxkit.rabbitmq;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.LongString;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.TransportHeaders;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An outbox message as an AMQP message and back: the one mapping both ends use. */
final class AmqpMessages {

    /** The content type of every message: the payload is JSON text in UTF-8. */
    static final String CONTENT_TYPE = "application/json";
    /** AMQP's delivery mode for a message the broker writes to disk in a durable queue. */
    static final int PERSISTENT = 2;
    /** The longest AMQP short string (routing key, message id, type, header name), in bytes. */
    static final int MAX_SHORT_STRING = 255;
    /**
     * The header names RabbitMQ reads as more routing keys (sender-selected distribution), exactly
     * in this case, and accepts only as a list: it closes the channel on a text value.
     */
    static final List<String> ROUTING_HEADERS = List.of("CC", "BCC");

    private AmqpMessages() {
    }

    /** What is sent for one message. */
    record Outgoing(String routingKey, AMQP.BasicProperties properties, byte[] body) {
    }

    /** The routing key of {@code message}: {@code <aggregate_type>.<event_type>}. */
    static String routingKey(OutboxMessage message) {
        return message.aggregateType() + "." + message.eventType();
    }

    /**
     * {@code message} as it is published: persistent, {@code message_id} the id, {@code type} the
     * event type, {@code timestamp} the creation time (AMQP keeps whole seconds), the envelope and
     * the message's own headers as AMQP headers ({@link TransportHeaders}), the payload as the body.
     * Checked before anything is sent, because the client numbers a publish for its confirm before
     * it encodes it: one that failed to encode would shift every later confirm onto the wrong message.
     * A message with a header of {@link #ROUTING_HEADERS} is refused too: the broker would close the
     * channel on it, failing every unconfirmed message of the batch with it.
     *
     * @throws IllegalArgumentException saying why the message cannot be sent
     */
    static Outgoing outgoing(OutboxMessage message, int maxMessageBytes, int frameMax) {
        String routingKey = routingKey(message);
        int keyBytes = routingKey.getBytes(StandardCharsets.UTF_8).length;
        if (keyBytes > MAX_SHORT_STRING) {
            throw new IllegalArgumentException("its routing key (aggregate type + '.' + event type) is " + keyBytes
                    + " bytes of UTF-8, more than AMQP's " + MAX_SHORT_STRING);
        }
        for (String name : ROUTING_HEADERS) {
            if (message.headers().containsKey(name)) {
                throw new IllegalArgumentException("its header " + name + " is one RabbitMQ reads itself, as more "
                        + "routing keys (sender-selected distribution), and only as a list: a text value would make the "
                        + "broker close the channel (406 PRECONDITION_FAILED); rename the header (RabbitMQ reads only "
                        + String.join(" and ", ROUTING_HEADERS) + " in capitals)");
            }
        }
        byte[] body = message.payload().getBytes(StandardCharsets.UTF_8);
        if (body.length > maxMessageBytes) {
            throw new IllegalArgumentException("its payload is " + body.length + " bytes, more than maxMessageBytes ("
                    + maxMessageBytes + "): RabbitMQ would close the channel on it; make the event smaller, or raise "
                    + "maxMessageBytes up to the broker's max_message_size");
        }
        Map<String, Object> headers = new LinkedHashMap<>(TransportHeaders.write(message));
        AMQP.BasicProperties properties = new AMQP.BasicProperties.Builder()
                .contentType(CONTENT_TYPE)
                .deliveryMode(PERSISTENT)
                .messageId(message.id().toString())
                .type(message.eventType())
                .timestamp(Date.from(message.createdAt()))
                .headers(headers)
                .build();
        int headerBytes;
        try {
            headerBytes = properties.toFrame(0, body.length).size();
        } catch (IllegalArgumentException | IOException e) {
            throw new IllegalArgumentException("its properties cannot be encoded: " + e.getMessage()
                    + " (a header name or the event type is longer than " + MAX_SHORT_STRING + " bytes)");
        }
        if (frameMax > 0 && headerBytes > frameMax) {
            throw new IllegalArgumentException("its headers take " + headerBytes + " bytes, more than the connection's "
                    + "frame size (" + frameMax + "), which must hold them whole");
        }
        return new Outgoing(routingKey, properties, body);
    }

    /**
     * The outbox message that a delivery carries, checked by {@link TransportHeaders#read}. Header
     * values may be text or numbers (a foreign publisher's); headers holding tables or lists
     * (the broker's {@code x-death}, say) are not the message's and are left out.
     *
     * @throws IllegalArgumentException saying why the delivery is not a readable outbox message
     */
    static OutboxMessage incoming(AMQP.BasicProperties properties, byte[] body, int attempts) {
        Map<String, Object> raw = properties == null || properties.getHeaders() == null ? Map.of() : properties.getHeaders();
        Map<String, String> headers = new LinkedHashMap<>();
        raw.forEach((name, value) -> {
            String text = text(value);
            if (text != null) {
                headers.put(name, text);
            }
        });
        String payload = body == null ? null : utf8(body);
        OutboxMessage m = TransportHeaders.read(headers, payload);
        return new OutboxMessage(m.id(), m.sequence(), m.aggregateType(), m.aggregateId(), m.eventType(), m.payload(),
                m.headers(), m.createdAt(), attempts);
    }

    private static String text(Object value) {
        if (value instanceof LongString || value instanceof String || value instanceof Number || value instanceof Boolean) {
            return value.toString();
        }
        if (value instanceof byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
        return null;
    }

    private static String utf8(byte[] body) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(body))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("the body is not UTF-8 text (" + e.getMessage() + ")");
        }
    }
}
