package io.outboxkit.nats;

import io.nats.client.impl.Headers;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.spi.TransportHeaders;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A message's headers on NATS: {@link TransportHeaders}' envelope and the message's own headers,
 * plus {@value #MSG_ID}, on which the stream drops a re-publish: the message id, or for a message
 * an operator requeued the id, a dot and its {@link OutboxAdmin#REQUEUED_AT_HEADER} (the replay is
 * a new message to the stream, while a retry of either publish is dropped). Headers whose
 * names start with {@code Nats-} belong to the server: a message may not carry its own, and they
 * are left out when a message is read back.
 */
final class NatsHeaders {

    /** The header JetStream deduplicates on within the stream's duplicate window. */
    static final String MSG_ID = "Nats-Msg-Id";

    private static final String SERVER_PREFIX = "Nats-";

    private NatsHeaders() {
    }

    /**
     * The bytes a publish of {@code body} and {@code headers} to {@code stream} counts against the
     * server's max_payload: the body, the headers, and the {@code Nats-Expected-Stream} header the
     * publish options add.
     */
    static long publishedSize(byte[] body, Headers headers, String stream) {
        return (long) body.length + headers.serializedLength() + ("Nats-Expected-Stream: " + stream + "\r\n").length();
    }

    /**
     * The headers {@code message} is published with; {@code outbox} names the outbox it was read from,
     * whose table the repair statement of a refused value names (and, when it has no schema, says to
     * run on the relay's search_path).
     *
     * @throws IllegalArgumentException naming a header that NATS cannot carry: a name with other than
     *     printable ASCII or with {@code :}, a value with non-ASCII characters or a line break, a value
     *     beginning or ending with whitespace or a control character (NATS would trim it: the aggregate
     *     id travels as a header too), a name starting with {@code Nats-}
     */
    static Headers of(OutboxMessage message, OutboxNames outbox) {
        Headers headers = new Headers();
        TransportHeaders.write(message).forEach((name, value) -> {
            if (isServers(name)) {
                throw new IllegalArgumentException("header " + name + ": names starting with " + SERVER_PREFIX
                        + " are the NATS server's own; rename the header");
            }
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                if (c < 33 || c > 126 || c == ':') {
                    throw new IllegalArgumentException("header name '" + name + "' cannot travel on NATS: a name may "
                            + "have only printable ASCII characters, no space and no ':'");
                }
            }
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if ((c > 127 || c == '\n' || c == '\r') && TransportHeaders.isTraceContext(name)) {
                    return; // observability data a client stored malformed: it must not fail the message
                }
                if (c > 127 || c == '\n' || c == '\r') {
                    throw new IllegalArgumentException("header " + name + " cannot travel on NATS: its value has "
                            + (c > 127 ? "the non-ASCII character '" + c + "'" : "a line break")
                            + " at index " + i + " (NATS header values are ASCII without line breaks)");
                }
            }
            if (!value.isEmpty() && (value.charAt(0) <= ' ' || value.charAt(value.length() - 1) <= ' ')
                    && !TransportHeaders.isTraceContext(name)) {
                // jnats strips them on reading, as String.trim does: the value would arrive changed
                throw new IllegalArgumentException("header " + name + " cannot travel on NATS: its value "
                        + (value.charAt(0) <= ' ' ? "begins" : "ends") + " with whitespace or a control character, "
                        + "which NATS strips (it trims header values): write the value without it; a message "
                        + "already stored is repaired in its outbox row ("
                        + repair(name, message, outbox.qualifiedOutboxTable()) + "), then requeued if DEAD"
                        + whereToRepair(outbox));
            }
            headers.put(name, value);
        });
        String requeuedAt = message.headers().get(OutboxAdmin.REQUEUED_AT_HEADER);
        headers.put(MSG_ID, requeuedAt == null ? message.id().toString() : message.id() + "." + requeuedAt);
        return headers;
    }

    /**
     * The string headers of a received message, the server's ({@code Nats-...}) left out. The trace
     * context never fails a message ({@link TransportHeaders#TRACEPARENT}): a {@code traceparent}
     * with more than one value is left out, as W3C Trace Context holds it invalid; a {@code
     * tracestate} with several values is read as them joined with commas, the one value W3C makes of them.
     *
     * @throws IllegalArgumentException for any other header with more than one value
     */
    static Map<String, String> read(Headers headers) {
        Map<String, String> read = new LinkedHashMap<>();
        if (headers == null) {
            return read;
        }
        for (Map.Entry<String, List<String>> header : headers.entrySet()) {
            if (isServers(header.getKey())) {
                continue;
            }
            List<String> values = header.getValue();
            if (values.size() > 1 && TransportHeaders.TRACESTATE.equals(header.getKey())) {
                read.put(header.getKey(), String.join(",", values));
                continue;
            }
            if (values.size() > 1 && TransportHeaders.TRACEPARENT.equals(header.getKey())) {
                continue; // an instrumented client added its own: which one is the parent cannot be told
            }
            if (values.size() != 1) {
                throw new IllegalArgumentException("header " + header.getKey() + " has " + values.size()
                        + " values, not one");
            }
            read.put(header.getKey(), values.get(0));
        }
        return read;
    }

    /**
     * Strips from a text value every leading and trailing character NATS trims (any up to a space:
     * a value check refuses them all), where {@code btrim} takes only those it is given.
     */
    private static final String TRIM = "regexp_replace(%s, '^[\\x01-\\x20]+|[\\x01-\\x20]+$', '', 'g')";

    /**
     * Where the repair statement must run, when it does not say so itself: an outbox named without a
     * schema (a relay reaching it through {@code currentSchema} in its JDBC URL) is found through the
     * session's {@code search_path}, and from a session on another one the statement updates no row,
     * without an error. Said after the statement, so that "outbox row (UPDATE ...), then requeued"
     * stays one span a tool (or a test) can take the statement from.
     */
    private static String whereToRepair(OutboxNames outbox) {
        return outbox.schema() == null
                ? ", running the statement in a session on the relay's database whose search_path finds the relay's "
                + "outbox, since it names no schema"
                : "";
    }

    /**
     * The statement that strips what NATS would trim from header {@code name}'s value in
     * {@code message}'s row of {@code outboxTable} (SQL: quoted and qualified, the outbox's own names,
     * so the statement repairs the row the relay read): the producer's fix cannot reach a message
     * already written. A value that is all such characters becomes empty, which the outbox's CHECK
     * refuses for the aggregate id, type and event type: such a row is fixed by hand or deleted.
     */
    private static String repair(String name, OutboxMessage message, String outboxTable) {
        String where = " WHERE id = '" + message.id() + "'";
        if (name.equals(TransportHeaders.AGGREGATE_ID) || name.equals(TransportHeaders.AGGREGATE_TYPE)
                || name.equals(TransportHeaders.EVENT_TYPE)) {
            return "UPDATE " + outboxTable + " SET " + name + " = " + TRIM.formatted(name) + where;
        }
        return "UPDATE " + outboxTable + " SET headers = jsonb_set(headers, ARRAY['" + name.replace("'", "''") + "'], "
                + "to_jsonb(" + TRIM.formatted("headers ->> '" + name.replace("'", "''") + "'") + "))" + where;
    }

    static boolean isServers(String name) {
        return name.regionMatches(true, 0, SERVER_PREFIX, 0, SERVER_PREFIX.length());
    }
}
