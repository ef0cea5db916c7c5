package io.outboxkit.app.delivery;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.MessageEnvelope;
import io.outboxkit.app.Uuids;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.Texts;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * The wire form of batch delivery: request bodies {@code {"messages": [envelope, ...]}} (the
 * envelopes of {@link io.outboxkit.app.MessageEnvelope}, the payload copied as it is stored), cut
 * so that each stays within what the consumer accepts, and the reading of its answer
 * {@code {"results": [{"id", "status", "error"?}]}}. Stateless.
 */
final class BatchRequests {

    /** The most messages in one request: the consumer's limit. */
    static final int MAX_MESSAGES = DeliveryProtocol.MAX_BATCH_MESSAGES;
    /**
     * The largest request body built, unless one message alone is larger: half the consumer's limit,
     * so that a request of several messages stays small; a message alone is within the limit
     * whenever the writer's default limit accepted its payload.
     */
    static final int MAX_BYTES = DeliveryProtocol.MAX_REQUEST_BYTES / 2;

    private static final byte[] OPEN = ("{\"" + DeliveryProtocol.MESSAGES + "\":").getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOSE = "]}".getBytes(StandardCharsets.US_ASCII);

    /** One request: its messages and its body. */
    record Request(List<OutboxMessage> messages, byte[] body) {
    }

    private BatchRequests() {
    }

    /** Where batches go: {@code consumerUrl} with {@code /batch} appended to its path. */
    static URI batchEndpoint(URI consumerUrl) {
        String path = consumerUrl.getPath() == null ? "" : consumerUrl.getPath().replaceAll("/+$", "");
        try {
            return new URI(consumerUrl.getScheme(), consumerUrl.getRawAuthority() == null ? null : consumerUrl.getAuthority(),
                    path + DeliveryProtocol.BATCH_PATH, consumerUrl.getQuery(), null);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("cannot derive the batch endpoint from " + consumerUrl, e);
        }
    }

    /**
     * Cuts {@code batch} into requests of at most {@link #MAX_MESSAGES} messages and about
     * {@link #MAX_BYTES} bytes, in order. A message that cannot be serialized is put in
     * {@code unsendable} instead.
     */
    static List<Request> split(List<OutboxMessage> batch, Map<UUID, Exception> unsendable) {
        List<Request> requests = new ArrayList<>();
        List<OutboxMessage> messages = new ArrayList<>();
        ByteArrayOutputStream body = new ByteArrayOutputStream(16 * 1024);
        for (OutboxMessage message : batch) {
            byte[] envelope;
            try {
                envelope = MessageEnvelope.toBytes(message);
            } catch (IOException | RuntimeException e) {
                unsendable.put(message.id(), new DeliveryException(FailureReason.REFUSED, "cannot serialize message " + message.id() + ": "
                        + e.getMessage(), e));
                continue;
            }
            if (!messages.isEmpty() && (messages.size() == MAX_MESSAGES || body.size() + envelope.length + 2 > MAX_BYTES)) {
                requests.add(close(messages, body));
                messages = new ArrayList<>();
                body = new ByteArrayOutputStream(16 * 1024);
            }
            body.write(messages.isEmpty() ? '[' : ',');
            body.writeBytes(envelope);
            messages.add(message);
        }
        if (!messages.isEmpty()) {
            requests.add(close(messages, body));
        }
        return requests;
    }

    /**
     * Reads the consumer's answer: every message reported "processed" or "duplicate" is delivered
     * (absent from the result); one reported "failed", or not reported, fails with the reason.
     */
    static Map<UUID, Exception> failures(List<OutboxMessage> sent, String answer, URI endpoint) {
        Map<UUID, Result> results;
        try {
            results = results(answer);
        } catch (IOException | RuntimeException e) {
            return allFailed(sent, new DeliveryException(FailureReason.REFUSED, "unreadable answer from " + endpoint + ": " + e.getMessage(), e));
        }
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        for (OutboxMessage message : sent) {
            Result result = results.get(message.id());
            String status = result == null ? null : result.status();
            if (DeliveryProtocol.PROCESSED.equals(status) || DeliveryProtocol.DUPLICATE.equals(status)) {
                continue;
            }
            if (status == null) {
                failures.put(message.id(), new DeliveryException("the answer from " + endpoint + " has no result for it"));
            } else {
                String error = result.error() != null ? ": " + Texts.abbreviate(result.error(), HttpPublisher.MAX_BODY_IN_ERROR) : "";
                failures.put(message.id(), new DeliveryException(endpoint + " answered "
                        + Texts.abbreviate(status, HttpPublisher.MAX_BODY_IN_ERROR) + error));
            }
        }
        return failures;
    }

    /** One message's result as answered: its status (null when not given) and error (null when none), as text. */
    private record Result(String status, String error) {
    }

    /** The results of an answer by id, the first for an id counting; read as a stream, without a tree. */
    private static Map<UUID, Result> results(String answer) throws IOException {
        Map<UUID, Result> results = new HashMap<>();
        boolean found = false;
        try (JsonParser json = Jsons.mapper().createParser(answer)) {
            if (json.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("not a JSON object");
            }
            for (JsonToken token = json.nextToken(); token == JsonToken.FIELD_NAME; token = json.nextToken()) {
                boolean isResults = DeliveryProtocol.RESULTS.equals(json.currentName());
                JsonToken value = json.nextToken();
                if (!isResults) {
                    json.skipChildren();
                    continue;
                }
                if (value != JsonToken.START_ARRAY) {
                    throw new IOException("no results array");
                }
                found = true;
                for (JsonToken entry = json.nextToken(); entry != JsonToken.END_ARRAY; entry = json.nextToken()) {
                    readResult(json, entry, results);
                }
            }
            if (json.nextToken() != null) {
                throw new IOException("it goes on after the object's end");
            }
        }
        if (!found) {
            throw new IOException("no results array");
        }
        return results;
    }

    private static void readResult(JsonParser json, JsonToken token, Map<UUID, Result> results) throws IOException {
        if (token != JsonToken.START_OBJECT) {
            throw new IOException("a result is not a JSON object");
        }
        String id = null;
        String status = null;
        String error = null;
        for (JsonToken field = json.nextToken(); field == JsonToken.FIELD_NAME; field = json.nextToken()) {
            String name = json.currentName();
            JsonToken value = json.nextToken();
            String text = value.isScalarValue() ? json.getText() : "";
            json.skipChildren();
            switch (name) {
                case DeliveryProtocol.ID -> id = text;
                case DeliveryProtocol.STATUS -> status = text;
                case DeliveryProtocol.ERROR -> error = value == JsonToken.VALUE_NULL ? null : text;
                default -> {
                    // a newer consumer may say more
                }
            }
        }
        if (id == null) {
            throw new IOException("a result has no id");
        }
        String text = id;
        // An id reported twice with two outcomes is a broken answer: the safe reading is that it failed.
        results.merge(Uuids.parse(text).orElseGet(() -> UUID.fromString(text)), new Result(status, error),
                (first, second) -> Objects.equals(first.status(), second.status()) ? first
                        : new Result(DeliveryProtocol.FAILED, "the answer reports this message both " + first.status()
                                + " and " + second.status()));
    }

    /** Every message of {@code sent} failed with {@code cause}. */
    static Map<UUID, Exception> allFailed(List<OutboxMessage> sent, Exception cause) {
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        sent.forEach(m -> failures.put(m.id(), cause));
        return failures;
    }

    private static Request close(List<OutboxMessage> messages, ByteArrayOutputStream array) {
        ByteArrayOutputStream body = new ByteArrayOutputStream(array.size() + 16);
        body.writeBytes(OPEN);
        body.writeBytes(array.toByteArray());
        body.writeBytes(CLOSE);
        return new Request(List.copyOf(messages), body.toByteArray());
    }
}
