package io.outboxkit.core;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.outboxkit.core.internal.Json;
import io.outboxkit.core.internal.OutboxSql;
import io.outboxkit.core.internal.Tracing;
import io.outboxkit.core.internal.UuidV7;
import io.outboxkit.core.spi.Texts;
import io.outboxkit.core.spi.TransportHeaders;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * Writes messages to the outbox inside the caller's open transaction, so they commit or roll
 * back together with the business change they announce.
 *
 * <p>It refuses to write outside a transaction ({@link NotInTransactionException}). When the
 * transaction commits, the insert wakes a poller that waits for it (a NOTIFY, sent once per
 * transaction, and only while a poller has announced that it waits: a busy poller needs none, and
 * a NOTIFY makes commits queue behind one database-wide lock). The insert's trigger reads the
 * outbox's {@code _wakeup} table, so the writing role needs {@code SELECT} on it.
 * Immutable and thread-safe: one instance serves a whole application.
 *
 * <p>It refuses a payload larger than {@link Builder#maxPayloadBytes(int)} (1 MiB unless set),
 * counted in UTF-8 bytes, before anything is written: a relay reads whole batches of payloads into
 * its heap, and what it delivers to must take each one (the demo's HTTP consumer takes any payload
 * within the default limit; Kafka's producer and NATS servers refuse records over about 1 MB by
 * default, less than such a payload as PostgreSQL prints it).
 *
 * <p>It refuses, the same way, a message whose headers are larger than
 * {@link Builder#maxHeaderBytes(int)} (8 KiB unless set), counted as this writer sends them to be
 * stored: their JSON object's text ({@code {"name":"value",...}}, escapes included) in UTF-8 bytes
 * (PostgreSQL's {@code jsonb} prints them back with spaces added). Headers are
 * metadata (ids, a trace context), and every transport carries them beside the payload in the same
 * limited record: Kafka's {@code max.request.size}, NATS's {@code max_payload}, RabbitMQ's
 * {@code frame_max} (128 KiB for all of a message's headers), the room the HTTP consumer keeps
 * around a payload (64 KiB). A message with no headers counts none; the trace context this writer
 * adds (below) is not counted, so whether a write is refused never depends on tracing.
 *
 * <p>When the caller runs inside a trace (an OpenTelemetry span is current, as in a traced HTTP
 * request), each message records that context in its headers as W3C {@code traceparent} (and
 * {@code tracestate} when there is one), so the poller's delivery and the consumer's processing
 * continue the trace. A message given a {@code traceparent} header of its own keeps it. Outside a
 * trace, or without an OpenTelemetry SDK, nothing is added.
 *
 * <pre>{@code
 * jdbi.useTransaction(handle -> {
 *     handle.execute("INSERT INTO orders ...", ...);
 *     writer.write(handle, NewMessage.of("Order", orderId, "OrderCreated", json));
 * });
 * }</pre>
 */
public final class OutboxWriter {

    /** PostgreSQL's SQLSTATE for text that is not a value of its type: a payload that is not JSON. */
    private static final String INVALID_TEXT = "22P02";

    /** The largest payload written unless set: 1 MiB (1,048,576 bytes of UTF-8). */
    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
    /** The largest limit that may be set: 256 MiB, about what PostgreSQL stores in one jsonb value. */
    public static final int MAX_MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

    /** The largest headers written unless set: 8 KiB (8,192 bytes of their JSON text in UTF-8). */
    public static final int DEFAULT_MAX_HEADER_BYTES = 8 * 1024;

    private final String insert;
    private final int maxPayloadBytes;
    private final int maxHeaderBytes;

    private OutboxWriter(OutboxNames names, int maxPayloadBytes, int maxHeaderBytes) {
        this.insert = new OutboxSql(names).insert;
        this.maxPayloadBytes = maxPayloadBytes;
        this.maxHeaderBytes = maxHeaderBytes;
    }

    /** A writer for the outbox of {@link OutboxNames#DEFAULT}, with the default limits. */
    public static OutboxWriter create() {
        return create(OutboxNames.DEFAULT);
    }

    /** A writer for the outbox that {@code names} name, with the default limits. */
    public static OutboxWriter create(OutboxNames names) {
        return builder().names(names).build();
    }

    /** A builder for a writer with options of the caller's choosing. */
    public static Builder builder() {
        return new Builder();
    }

    /** The largest payload this writer writes, in UTF-8 bytes. */
    public int maxPayloadBytes() {
        return maxPayloadBytes;
    }

    /** The largest headers this writer writes: their JSON text's length in UTF-8 bytes. */
    public int maxHeaderBytes() {
        return maxHeaderBytes;
    }

    /**
     * Writes one message in {@code handle}'s open transaction.
     *
     * @return the id the message was given
     * @throws NotInTransactionException when {@code handle} is not in a transaction
     * @throws OutboxException           when the database refuses the insert, as it does a payload that
     *                                   is not JSON (the transaction is then unusable: roll it back)
     * @throws IllegalArgumentException  when the payload is larger than {@link #maxPayloadBytes()}
     *                                   or the headers than {@link #maxHeaderBytes()} (nothing is sent
     *                                   to the database: the transaction stays usable)
     */
    public UUID write(Handle handle, NewMessage message) {
        return writeAll(handle, List.of(message)).get(0);
    }

    /**
     * Writes {@code messages} in {@code handle}'s open transaction, in list order (which is also
     * their delivery order within an aggregate).
     *
     * @return the ids given to the messages, in list order
     * @throws NotInTransactionException when {@code handle} is not in a transaction
     * @throws OutboxException           when the database refuses the insert
     * @throws IllegalArgumentException  when a payload is larger than {@link #maxPayloadBytes()}
     *                                   or a message's headers than {@link #maxHeaderBytes()} (none
     *                                   of the messages is written; the transaction stays usable)
     */
    public List<UUID> writeAll(Handle handle, List<NewMessage> messages) {
        Objects.requireNonNull(handle, "handle");
        if (!handle.isInTransaction()) {
            throw new NotInTransactionException("OutboxWriter needs the caller's open transaction: call it inside "
                    + "jdbi.useTransaction(...) or after handle.begin(), so the message commits with the business change");
        }
        return insert(handle.getConnection(), messages);
    }

    /**
     * Writes one message on a plain JDBC connection whose transaction is open (auto-commit off).
     *
     * @return the id the message was given
     * @throws NotInTransactionException when the connection is in auto-commit mode
     * @throws OutboxException           when the database refuses the insert
     * @throws IllegalArgumentException  when the payload is larger than {@link #maxPayloadBytes()}
     *                                   or the headers than {@link #maxHeaderBytes()} (nothing is written)
     */
    public UUID write(Connection connection, NewMessage message) {
        return writeAll(connection, List.of(message)).get(0);
    }

    /**
     * Writes {@code messages}, in list order, on a plain JDBC connection whose transaction is open.
     *
     * @return the ids given to the messages, in list order
     * @throws NotInTransactionException when the connection is in auto-commit mode
     * @throws OutboxException           when the database refuses the insert
     * @throws IllegalArgumentException  when a payload is larger than {@link #maxPayloadBytes()}
     *                                   or a message's headers than {@link #maxHeaderBytes()} (none
     *                                   of the messages is written)
     */
    public List<UUID> writeAll(Connection connection, List<NewMessage> messages) {
        Objects.requireNonNull(connection, "connection");
        boolean autoCommit;
        try {
            autoCommit = connection.getAutoCommit();
        } catch (SQLException e) {
            throw new OutboxException("cannot tell whether the connection is in a transaction: " + e.getMessage(), e);
        }
        if (autoCommit) {
            throw new NotInTransactionException("OutboxWriter needs an open transaction: call "
                    + "connection.setAutoCommit(false) first, so the message commits with the business change");
        }
        return insert(connection, messages);
    }

    private List<UUID> insert(Connection connection, List<NewMessage> messages) {
        Objects.requireNonNull(messages, "messages");
        if (messages.isEmpty()) {
            return List.of();
        }
        for (int i = 0; i < messages.size(); i++) {
            NewMessage message = Objects.requireNonNull(messages.get(i), "messages must not contain null");
            refuseIfTooLarge(message, i, messages.size());
            refuseIfHeadersTooLarge(message, i, messages.size());
        }
        List<UUID> ids = new ArrayList<>(messages.size());
        Context trace = Context.current();
        boolean traced = Span.fromContext(trace).getSpanContext().isValid();
        try (PreparedStatement statement = connection.prepareStatement(insert)) {
            for (NewMessage message : messages) {
                UUID id = UuidV7.next();
                statement.setObject(1, id);
                statement.setString(2, message.aggregateType());
                statement.setString(3, message.aggregateId());
                statement.setString(4, message.eventType());
                statement.setString(5, message.payload());
                statement.setString(6, Json.writeHeaders(traced ? withTrace(message.headers(), trace) : message.headers()));
                if (messages.size() == 1) {
                    statement.executeUpdate();
                } else {
                    statement.addBatch();
                }
                ids.add(id);
            }
            if (messages.size() > 1) {
                statement.executeBatch();
            }
            return List.copyOf(ids);
        } catch (SQLException e) {
            String why = INVALID_TEXT.equals(rootState(e)) ? "a payload is not valid JSON: " : "";
            throw new OutboxException("could not write " + messages.size() + " outbox message(s): " + why
                    + e.getMessage(), e);
        }
    }

    private void refuseIfTooLarge(NewMessage message, int index, int count) {
        String payload = message.payload();
        // A char is at most 3 bytes of UTF-8 (a surrogate pair, 2 chars, is 4): most payloads need no count.
        if ((long) payload.length() * 3 <= maxPayloadBytes) {
            return;
        }
        long bytes = Json.utf8Length(payload);
        if (bytes > maxPayloadBytes) {
            throw new IllegalArgumentException(describe(message, index, count) + " has a payload of " + bytes
                    + " bytes, over this writer's maxPayloadBytes of " + maxPayloadBytes
                    + ": nothing was written. Send a reference to the data (a URL, a key) instead of the data, or raise "
                    + "the limit if the relay's heap and every receiver take messages that large");
        }
    }

    private void refuseIfHeadersTooLarge(NewMessage message, int index, int count) {
        Map<String, String> headers = message.headers();
        if (headers.isEmpty()) {
            return;
        }
        if (headersBound(headers) <= maxHeaderBytes) {
            return; // the common case, small headers: their JSON is generated once, at the insert
        }
        long bytes = Json.headersLength(headers);
        if (bytes > maxHeaderBytes) {
            // The largest header, counted like the total, so a person sees at once whether one value
            // or their number is the cause. Its name is shortened before it is escaped, so the cut
            // never splits an escape.
            Map.Entry<String, Long> largest = headers.entrySet().stream()
                    .map(header -> Map.entry(header.getKey(), Json.headerLength(header.getKey(), header.getValue())))
                    .max(Map.Entry.comparingByValue())
                    .orElseThrow();
            throw new IllegalArgumentException(describe(message, index, count) + " has headers of " + bytes
                    + " bytes as JSON text (" + headers.size() + " header" + (headers.size() == 1 ? "" : "s")
                    + ", the largest \"" + TransportHeaders.ascii(Texts.abbreviate(largest.getKey(), 60)) + "\" of "
                    + largest.getValue() + " bytes of it), over this writer's maxHeaderBytes of " + maxHeaderBytes
                    + ": nothing was written. Carry data in the payload (or a reference to it) and keep headers to "
                    + "small metadata, or raise the limit with OutboxWriter.builder().maxHeaderBytes(n) if every "
                    + "receiver takes headers that large beside the payload");
        }
    }

    /**
     * At least {@link Json#headersLength}, and equal to it when every char is written as a six-byte escape: a char is at
     * most six bytes of the JSON text (escaped: a backslash, {@code u} and four hex digits; else at
     * most three, or four for a surrogate pair of two chars), and each header adds two quotes around
     * its name, two around its value and a colon, the headers a comma between two, the object its
     * braces. No JSON is generated to compute it.
     */
    private static long headersBound(Map<String, String> headers) {
        long chars = 0;
        for (Map.Entry<String, String> header : headers.entrySet()) {
            chars += header.getKey().length() + header.getValue().length();
        }
        return chars * 6 + headers.size() * 5L + (headers.size() - 1) + 2;
    }

    /** Which message of a write an error is about: its place in a batch, its event and aggregate. */
    private static String describe(NewMessage message, int index, int count) {
        return "outbox message " + (count == 1 ? "" : (index + 1) + " of " + count + " ")
                + "(" + message.eventType() + " of " + message.aggregateType() + " " + message.aggregateId() + ")";
    }

    /**
     * Configures an {@link OutboxWriter}; {@link #build()} checks the options. Not thread-safe; the
     * writer is.
     */
    public static final class Builder {
        private OutboxNames names = OutboxNames.DEFAULT;
        private int maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES;
        private int maxHeaderBytes = DEFAULT_MAX_HEADER_BYTES;

        private Builder() {
        }

        /** The outbox written to; default {@link OutboxNames#DEFAULT}. */
        public Builder names(OutboxNames names) {
            this.names = Objects.requireNonNull(names, "names");
            return this;
        }

        /**
         * The largest payload written, in UTF-8 bytes, 1 to 256 MiB; default 1 MiB. A larger one is
         * refused at write. Raise it only as far as the relay's heap holds a batch of such
         * payloads and every receiver takes them (Kafka's {@code max.request.size} and the topic's
         * {@code max.message.bytes}, NATS's {@code max_payload}, the HTTP consumer's 1 MiB per request).
         */
        public Builder maxPayloadBytes(int maxPayloadBytes) {
            this.maxPayloadBytes = maxPayloadBytes;
            return this;
        }

        /**
         * The largest headers written, 0 to 256 MiB; default 8 KiB: the length in UTF-8 bytes of their
         * JSON object's text as this writer sends it ({@code {"name":"value",...}}, a control character escaped as
         * six bytes). Messages with more are refused at write; a message with no headers always
         * passes (0 refuses every header of the caller's), and the trace context this writer adds is
         * not counted. Raise it only as far as every receiver takes such headers beside the largest
         * payload: Kafka's {@code max.request.size} counts them with the payload, NATS's
         * {@code max_payload} too, RabbitMQ takes a message's headers in one frame ({@code frame_max},
         * 128 KiB by default), and the HTTP consumer keeps 64 KiB per message for all but its payload.
         */
        public Builder maxHeaderBytes(int maxHeaderBytes) {
            this.maxHeaderBytes = maxHeaderBytes;
            return this;
        }

        /**
         * A writer with these options.
         *
         * @throws InvalidOptionException when {@code maxPayloadBytes} or {@code maxHeaderBytes} is out
         *                                of its range
         */
        public OutboxWriter build() {
            if (maxPayloadBytes < 1 || maxPayloadBytes > MAX_MAX_PAYLOAD_BYTES) {
                throw new InvalidOptionException("OutboxWriter", List.of("maxPayloadBytes"),
                        "maxPayloadBytes must be 1 to " + MAX_MAX_PAYLOAD_BYTES + ", was " + maxPayloadBytes);
            }
            if (maxHeaderBytes < 0 || maxHeaderBytes > MAX_MAX_PAYLOAD_BYTES) {
                throw new InvalidOptionException("OutboxWriter", List.of("maxHeaderBytes"),
                        "maxHeaderBytes must be 0 to " + MAX_MAX_PAYLOAD_BYTES + ", was " + maxHeaderBytes);
            }
            return new OutboxWriter(names, maxPayloadBytes, maxHeaderBytes);
        }
    }

    /** {@code headers} with the caller's trace context, unless they carry a {@code traceparent} already. */
    private static Map<String, String> withTrace(Map<String, String> headers, Context trace) {
        return headers.containsKey(Tracing.TRACEPARENT) ? headers : Tracing.inject(headers, trace);
    }

    /** The SQLSTATE of a batch's first failure (a batch wraps it), or of {@code e} itself. */
    private static String rootState(SQLException e) {
        SQLException next = e.getNextException();
        return next != null && next.getSQLState() != null ? next.getSQLState() : e.getSQLState();
    }
}
