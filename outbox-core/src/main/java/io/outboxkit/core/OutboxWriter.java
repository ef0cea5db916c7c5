package io.outboxkit.core;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.outboxkit.core.internal.Json;
import io.outboxkit.core.internal.OutboxSql;
import io.outboxkit.core.internal.Tracing;
import io.outboxkit.core.internal.UuidV7;
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

    private final String insert;

    private OutboxWriter(OutboxNames names) {
        this.insert = new OutboxSql(names).insert;
    }

    /** A writer for the outbox of {@link OutboxNames#DEFAULT}. */
    public static OutboxWriter create() {
        return create(OutboxNames.DEFAULT);
    }

    /** A writer for the outbox that {@code names} name. */
    public static OutboxWriter create(OutboxNames names) {
        return new OutboxWriter(Objects.requireNonNull(names, "names"));
    }

    /**
     * Writes one message in {@code handle}'s open transaction.
     *
     * @return the id the message was given
     * @throws NotInTransactionException when {@code handle} is not in a transaction
     * @throws OutboxException           when the database refuses the insert, as it does a payload that
     *                                   is not JSON (the transaction is then unusable: roll it back)
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
        List<UUID> ids = new ArrayList<>(messages.size());
        Context trace = Context.current();
        boolean traced = Span.fromContext(trace).getSpanContext().isValid();
        try (PreparedStatement statement = connection.prepareStatement(insert)) {
            for (NewMessage message : messages) {
                Objects.requireNonNull(message, "messages must not contain null");
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
