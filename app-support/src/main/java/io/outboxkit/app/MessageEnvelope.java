package io.outboxkit.app;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.TransportHeaders;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;

/**
 * The JSON form of a message between the relay and a consumer:
 * <pre>{@code
 * {"id": "<uuid>", "sequence": 42, "aggregate_type": "Order", "aggregate_id": "<id>",
 *  "event_type": "OrderCreated", "payload": {...}, "headers": {"k": "v"},
 *  "created_at": "2026-11-26T15:00:00Z", "attempts": 1}
 * }</pre>
 * {@code sequence}, {@code headers} and {@code attempts} may be left out; fields it does not know
 * are ignored, so a newer relay can add some. A payload nesting deeper than
 * {@link Jsons#MAX_PAYLOAD_DEPTH} (more than PostgreSQL's {@code jsonb} holds) makes its envelope
 * invalid, that envelope's alone: read from a body of several, those after it are still read,
 * unless the body nests deeper than {@link Jsons#messageMapper()} reads at all.
 */
public final class MessageEnvelope {

    /** The longest aggregate type, aggregate id or event type accepted: what a broker's reader and the writer accept. */
    public static final int MAX_NAME_LENGTH = TransportHeaders.MAX_NAME_LENGTH;

    private MessageEnvelope() {
    }

    /**
     * {@code message} as envelope JSON bytes, as a batch carries it and as single delivery sends
     * it. The payload (JSON text from the database) is copied as it is, not parsed again.
     *
     * @throws IOException when the envelope cannot be written
     */
    public static byte[] toBytes(OutboxMessage message) throws IOException {
        return toBytes(message, Map.of());
    }

    /**
     * {@code message} as envelope JSON bytes, as {@link #toBytes(OutboxMessage)} writes them, with
     * the fields of {@code more} after the envelope's own (a null value written as JSON null), for a
     * tool that adds fields of its own. The payload is copied as it is, never parsed, so that any
     * payload the outbox holds, however deeply nested, is written.
     *
     * @throws IOException when the envelope cannot be written
     */
    public static byte[] toBytes(OutboxMessage message, Map<String, String> more) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + message.payload().length());
        try (JsonGenerator json = Jsons.messageMapper().getFactory().createGenerator(out)) {
            json.writeStartObject();
            json.writeStringField("id", message.id().toString());
            json.writeNumberField("sequence", message.sequence());
            json.writeStringField("aggregate_type", message.aggregateType());
            json.writeStringField("aggregate_id", message.aggregateId());
            json.writeStringField("event_type", message.eventType());
            json.writeFieldName("payload");
            json.writeRawValue(message.payload());
            json.writeObjectFieldStart("headers");
            for (Map.Entry<String, String> header : message.headers().entrySet()) {
                json.writeStringField(header.getKey(), header.getValue());
            }
            json.writeEndObject();
            json.writeStringField("created_at", message.createdAt().toString());
            json.writeNumberField("attempts", message.attempts());
            for (Map.Entry<String, String> field : more.entrySet()) {
                json.writeStringField(field.getKey(), field.getValue());
            }
            json.writeEndObject();
        }
        return out.toByteArray();
    }

    /**
     * An envelope read by {@link #read}: the message, whose payload text is the payload exactly as
     * it was sent, and that payload as parsed while reading it (JSON null for a null payload).
     *
     * @param message the message the envelope carries
     * @param payload its payload, parsed
     */
    public record Read(OutboxMessage message, JsonNode payload) {
    }

    /**
     * Parses and validates an envelope: the whole body, one JSON object.
     *
     * @throws InvalidEnvelopeException when the body is not JSON, not one object, or not an envelope
     */
    public static OutboxMessage parse(byte[] body) {
        return parseWithPayload(body).message();
    }

    /**
     * Parses and validates an envelope as {@link #parse} does, keeping its payload as parsed, so
     * that a reader of the payload need not parse its text again.
     *
     * @throws InvalidEnvelopeException when the body is not JSON, not one object, or not an envelope
     */
    public static Read parseWithPayload(byte[] body) {
        try (JsonParser json = Jsons.messageMapper().createParser(body)) {
            if (json.nextToken() != JsonToken.START_OBJECT) {
                throw new InvalidEnvelopeException("envelope must be a JSON object");
            }
            EnvelopeFields fields = EnvelopeFields.read(json, body);
            OutboxMessage message = fields.message();
            if (json.nextToken() != null) {
                throw new InvalidEnvelopeException("body is not valid JSON: it goes on after the envelope's end");
            }
            return new Read(message, fields.payload());
        } catch (JacksonException e) {
            throw new InvalidEnvelopeException("body is not valid JSON: " + Jsons.syntaxError(e));
        } catch (IOException e) {
            throw new InvalidEnvelopeException("body could not be read: " + e.getMessage());
        } catch (NumberFormatException e) {
            // decimals are read as BigDecimal while parsing: an exponent beyond an int fails there
            throw new InvalidEnvelopeException("body has a number out of any usable range");
        }
    }

    /**
     * Reads and validates the envelope object that starts at {@code json}'s current token (its
     * START_OBJECT), leaving the parser on the value's last token, an envelope or not: for a body
     * holding several envelopes, read without building a tree of the whole. {@code json} must read
     * {@code body} from its first byte ({@code Jsons.messageMapper().createParser(body)}).
     *
     * @throws InvalidEnvelopeException when the current value is not an envelope
     * @throws IOException when the JSON is malformed or cannot be read ({@link JacksonException})
     * @throws NumberFormatException when a decimal in the payload is out of any usable range (an
     *         exponent beyond an int), as {@link #parse} reports it
     */
    public static Read read(JsonParser json, byte[] body) throws IOException {
        if (json.currentToken() != JsonToken.START_OBJECT) {
            json.skipChildren();
            throw new InvalidEnvelopeException("envelope must be a JSON object");
        }
        EnvelopeFields fields = EnvelopeFields.read(json, body);
        return new Read(fields.message(), fields.payload());
    }

    /** Validates an envelope already parsed. */
    public static OutboxMessage fromJson(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw new InvalidEnvelopeException("envelope must be a JSON object");
        }
        try (JsonParser json = node.traverse(Jsons.messageMapper())) {
            json.nextToken();
            return EnvelopeFields.read(json, null).message();
        } catch (IOException e) {
            throw new IllegalStateException("a JSON tree could not be walked", e); // in memory: not expected
        }
    }
}
