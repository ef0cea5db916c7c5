package io.outboxkit.consumer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import io.javalin.http.Context;
import io.outboxkit.app.InvalidEnvelopeException;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.MessageEnvelope;
import io.outboxkit.app.delivery.DeliveryProtocol;
import io.outboxkit.app.http.ApiError;
import io.outboxkit.app.http.JsonApi;
import io.outboxkit.core.BatchOutcome;
import io.outboxkit.core.IdempotentHandler;
import io.outboxkit.core.MessageHandlingException;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.Outcome;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /messages} and {@code POST /messages/batch}, and the batches of a broker source
 * ({@link #receive}): every message goes through the {@link IdempotentHandler}, so a redelivery is
 * answered "duplicate" (skipped) and changes nothing.
 *
 * <p>Envelopes are read with {@link Jsons#messageMapper()}: a payload may hold numbers as long as
 * PostgreSQL's {@code jsonb} allows, which only the request's size bounds, and nest as deep as
 * {@code jsonb} holds, up to {@link Jsons#MAX_PAYLOAD_DEPTH} levels; only the fields the handler
 * reads ({@link OrderEvent}) must be valid. A malformed envelope is a
 * 400, a payload the consumer can never apply a 422 (so the relay retries it and eventually marks
 * it DEAD); in both cases nothing is written. In a batch both are that message's own "failed"
 * result, whenever the envelope's id can be read. Thread-safe.
 */
final class MessageEndpoints {

    /** The most messages one batch request may carry. */
    static final int MAX_BATCH = DeliveryProtocol.MAX_BATCH_MESSAGES;

    private static final Logger LOG = LoggerFactory.getLogger(MessageEndpoints.class);
    private static final String BATCH_SHAPE = "{\"" + DeliveryProtocol.MESSAGES + "\": [...]}";

    private final IdempotentHandler handler;
    private final ParsedPayloads parsed;
    private final AtomicLong duplicates = new AtomicLong();

    /** Endpoints that hand the payloads of a request, as parsed with its envelopes, to {@code parsed}'s reader. */
    MessageEndpoints(IdempotentHandler handler, ParsedPayloads parsed) {
        this.handler = handler;
        this.parsed = parsed;
    }

    /** Duplicates answered since start. */
    long duplicates() {
        return duplicates.get();
    }

    /** {@code POST /messages}: one envelope; answers {@code {"status": "processed" | "duplicate"}}. */
    void single(Context ctx) {
        JsonApi.requireJson(ctx);
        MessageEnvelope.Read read;
        try {
            read = MessageEnvelope.parseWithPayload(ctx.bodyAsBytes());
        } catch (InvalidEnvelopeException e) {
            throw ApiError.badRequest(e.getMessage());
        }
        OutboxMessage message = read.message();
        parsed.put(message, read.payload());
        try {
            JsonApi.respond(ctx, 200, Map.of(DeliveryProtocol.STATUS, status(handle(message))));
        } catch (MessageHandlingException e) {
            throw poisonOrRethrow(e);
        } finally {
            parsed.forget(List.of(message));
        }
    }

    /**
     * {@code POST /messages/batch}: {@code {"messages": [envelope, ...]}} with 1 to {@value #MAX_BATCH}
     * envelopes, processed together in ONE transaction ({@link IdempotentHandler#handleAll}): each
     * message is still recorded, and applied, once. Answers 200 with one result per envelope, in
     * request order: {@code {"id", "status": "processed" | "duplicate" | "failed", "error"?}} (an id
     * repeated in the request is "duplicate" where its envelope is well formed and follows a
     * well-formed one with that id; a malformed copy is "failed", and so is every copy of a message
     * that failed). A "failed" message changed
     * nothing and is not recorded, so it may be sent again; the others' effects are committed. An
     * envelope that is malformed but whose id is a UUID is such a "failed" message, its error
     * naming {@code messages[i]} and the field at fault. A body that is not JSON, not of this
     * shape, nests deeper than {@link Jsons#messageMapper()} reads, or holds an envelope without
     * a readable id refuses the whole batch (400, naming
     * {@code messages[i]} when the problem is in one) before anything is processed; a database
     * outage aborts it (503) with nothing committed.
     */
    void batch(Context ctx) {
        JsonApi.requireJson(ctx);
        List<Envelope> envelopes = parseBatch(ctx.bodyAsBytes());
        List<OutboxMessage> messages = messages(envelopes);
        List<Applied> outcome;
        try {
            outcome = messages.isEmpty() ? List.of() : apply(messages);
        } finally {
            parsed.forget(messages);
        }
        JsonApi.respondJson(ctx, 200, results(envelopes, outcome));
    }

    /**
     * A batch from a broker ({@link io.outboxkit.core.spi.BatchReceiver}): applied as
     * {@link #batch} applies a request's, in one transaction; the source acknowledges what is not
     * returned as failed, after that transaction committed. A database outage throws, failing the
     * whole batch, which the source delivers again.
     */
    Map<UUID, Exception> receive(List<OutboxMessage> messages) {
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        for (Applied applied : apply(messages)) {
            if (applied.failure() != null) {
                failureText(applied.failure()); // logs it
                failures.put(applied.message().id(), applied.failure());
            }
        }
        return failures;
    }

    /** One envelope of a batch request: the message it carries, or, when it was refused, its id and why (null message). */
    private record Envelope(OutboxMessage message, UUID refusedId, String refusal) {
    }

    private static List<OutboxMessage> messages(List<Envelope> envelopes) {
        List<OutboxMessage> messages = new ArrayList<>(envelopes.size());
        for (Envelope envelope : envelopes) {
            if (envelope.message() != null) {
                messages.add(envelope.message());
            }
        }
        return messages;
    }

    /** What became of one message of a batch: its status in {@link DeliveryProtocol}'s words, and the failure if it failed. */
    private record Applied(OutboxMessage message, String status, MessageHandlingException failure) {
    }

    /**
     * Applies {@code messages} in ONE transaction ({@link IdempotentHandler#handleAll}) and prints
     * the demo's line for each (PROCESSING, or SKIPPING a duplicate: an id already processed, or
     * given by an earlier message of {@code messages}), counting the duplicates.
     */
    private List<Applied> apply(List<OutboxMessage> messages) {
        BatchOutcome outcome = handler.handleAll(messages);
        List<Applied> applied = new ArrayList<>(messages.size());
        Set<UUID> answered = new HashSet<>();
        long duplicated = 0;
        for (OutboxMessage message : messages) {
            MessageHandlingException failure = outcome.failures().get(message.id());
            if (failure != null) {
                applied.add(new Applied(message, DeliveryProtocol.FAILED, failure));
            } else if (!answered.add(message.id()) || outcome.outcomes().get(message.id()) == Outcome.DUPLICATE) {
                applied.add(new Applied(message, DeliveryProtocol.DUPLICATE, null));
                logSkipped(message);
                duplicated++;
            } else {
                applied.add(new Applied(message, DeliveryProtocol.PROCESSED, null));
                logProcessed(message);
            }
        }
        duplicates.addAndGet(duplicated);
        return applied;
    }

    /**
     * {@code {"results": [{"id", "status", "error"?}, ...]}}, one per envelope in request order: a
     * refused envelope's "failed", the others' from {@code outcome} (of their messages, in order).
     */
    private static byte[] results(List<Envelope> envelopes, List<Applied> outcome) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 * envelopes.size() + 16);
        try (JsonGenerator json = Jsons.mapper().getFactory().createGenerator(out)) {
            json.writeStartObject();
            json.writeArrayFieldStart(DeliveryProtocol.RESULTS);
            Iterator<Applied> applied = outcome.iterator();
            for (Envelope envelope : envelopes) {
                if (envelope.message() == null) {
                    LOG.warn("refused envelope {}: {}", envelope.refusedId(), envelope.refusal());
                    result(json, envelope.refusedId(), DeliveryProtocol.FAILED, envelope.refusal());
                } else {
                    Applied next = applied.next();
                    result(json, next.message().id(), next.status(), next.failure() == null ? null : failureText(next.failure()));
                }
            }
            json.writeEndArray();
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the results", e); // into memory: not expected
        }
        return out.toByteArray();
    }

    private static void result(JsonGenerator json, UUID id, String status, String error) throws IOException {
        json.writeStartObject();
        json.writeStringField(DeliveryProtocol.ID, id.toString());
        json.writeStringField(DeliveryProtocol.STATUS, status);
        if (error != null) {
            json.writeStringField(DeliveryProtocol.ERROR, error);
        }
        json.writeEndObject();
    }

    /** What a client may read of a failure: the payload problem, or no internals. */
    private static String failureText(MessageHandlingException e) {
        if (e.getCause() instanceof InvalidPayloadException invalid) {
            LOG.warn("refused message {}: {}", e.messageId(), invalid.getMessage());
            return invalid.getMessage();
        }
        LOG.error("message {} failed", e.messageId(), e);
        return "internal error";
    }

    private Outcome handle(OutboxMessage message) {
        Outcome outcome = handler.handle(message);
        if (outcome == Outcome.DUPLICATE) {
            duplicates.incrementAndGet();
            logSkipped(message);
        } else {
            logProcessed(message);
        }
        return outcome;
    }

    /** The demo's own line for each message applied: what the quick start shows (the library logs none at INFO). */
    private static void logProcessed(OutboxMessage message) {
        LOG.info("PROCESSING {}", message.id());
    }

    /** The demo's own line for each redelivery skipped. */
    private static void logSkipped(OutboxMessage message) {
        LOG.info("SKIPPING duplicate message {}", message.id());
    }

    private static String status(Outcome outcome) {
        return outcome == Outcome.PROCESSED ? DeliveryProtocol.PROCESSED : DeliveryProtocol.DUPLICATE;
    }

    private static RuntimeException poisonOrRethrow(MessageHandlingException e) {
        if (e.getCause() instanceof InvalidPayloadException invalid) {
            LOG.warn("refused message {}: {}", e.messageId(), invalid.getMessage());
            return new ApiError(422, invalid.getMessage());
        }
        return e;
    }

    /**
     * The envelopes of a batch request, each message's payload tree registered with {@link #parsed}.
     * Read as a stream, without a tree of the whole body; a malformed body, or an envelope without a
     * readable id, registers nothing and is refused (400) naming the envelope at fault.
     */
    private List<Envelope> parseBatch(byte[] body) {
        List<Envelope> envelopes = new ArrayList<>();
        boolean read = false;
        try (JsonParser json = Jsons.messageMapper().createParser(body)) {
            try {
                readBatch(json, body, envelopes);
            } catch (JacksonException e) {
                throw ApiError.badRequest("body is not valid JSON" + at(json) + ": " + Jsons.syntaxError(e));
            } catch (NumberFormatException e) {
                // decimals are read as BigDecimal while parsing: an exponent beyond an int (which jsonb refuses too) fails there
                throw ApiError.badRequest("body has a number out of any usable range" + at(json));
            }
            read = true;
            return envelopes;
        } catch (IOException e) {
            throw ApiError.badRequest("body could not be read: " + e.getMessage());
        } finally {
            if (!read) {
                parsed.forget(messages(envelopes));
            }
        }
    }

    private void readBatch(JsonParser json, byte[] body, List<Envelope> envelopes) throws IOException {
        if (json.nextToken() != JsonToken.START_OBJECT) {
            throw ApiError.badRequest("body must be a JSON object " + BATCH_SHAPE);
        }
        boolean given = false;
        for (JsonToken token = json.nextToken(); token == JsonToken.FIELD_NAME; token = json.nextToken()) {
            String field = json.currentName();
            if (!DeliveryProtocol.MESSAGES.equals(field)) {
                throw ApiError.badRequest("unknown field " + field + ": the body is " + BATCH_SHAPE);
            }
            parsed.forget(messages(envelopes)); // given twice: the last counts, as in any JSON object
            envelopes.clear();
            readEnvelopes(json, body, envelopes);
            given = true;
        }
        if (!given) {
            throw ApiError.badRequest(envelopeCount());
        }
        if (json.nextToken() != null) {
            throw ApiError.badRequest("body is not valid JSON: it goes on after the object's end");
        }
    }

    /**
     * Reads the array of envelopes starting at {@code json}'s next token into {@code envelopes},
     * registering each payload; an envelope that is malformed but has a readable id is kept as refused.
     */
    private void readEnvelopes(JsonParser json, byte[] body, List<Envelope> envelopes) throws IOException {
        if (json.nextToken() != JsonToken.START_ARRAY) {
            throw ApiError.badRequest(envelopeCount());
        }
        for (JsonToken token = json.nextToken(); token != JsonToken.END_ARRAY; token = json.nextToken()) {
            if (envelopes.size() == MAX_BATCH) {
                throw ApiError.badRequest(envelopeCount());
            }
            MessageEnvelope.Read read;
            try {
                read = MessageEnvelope.read(json, body);
            } catch (InvalidEnvelopeException e) {
                String problem = DeliveryProtocol.MESSAGES + "[" + envelopes.size() + "]: " + e.getMessage();
                envelopes.add(new Envelope(null, e.messageId().orElseThrow(() -> ApiError.badRequest(problem)), problem));
                continue;
            }
            parsed.put(read.message(), read.payload());
            envelopes.add(new Envelope(read.message(), null, null));
        }
        if (envelopes.isEmpty()) {
            throw ApiError.badRequest(envelopeCount());
        }
    }

    /**
     * " at messages[i]" when {@code json} stopped within the i-th envelope of the list (the
     * contexts being root, the body's object, the list, an envelope, ...), else "".
     */
    private static String at(JsonParser json) {
        JsonStreamContext context = json.getParsingContext();
        while (context != null && context.getNestingDepth() > 2) {
            context = context.getParent();
        }
        if (context == null || context.getNestingDepth() != 2 || !context.inArray()) {
            return "";
        }
        return " at " + DeliveryProtocol.MESSAGES + "[" + Math.max(0, context.getCurrentIndex()) + "]";
    }

    private static String envelopeCount() {
        return DeliveryProtocol.MESSAGES + " must be an array of 1 to " + MAX_BATCH + " envelopes";
    }
}
