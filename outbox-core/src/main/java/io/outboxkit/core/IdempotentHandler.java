package io.outboxkit.core;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.context.Scope;
import io.outboxkit.core.internal.ConsumerSpans;
import io.outboxkit.core.internal.OutboxSql;
import io.outboxkit.core.internal.OwnConnections;
import io.outboxkit.core.internal.SafeListener;
import io.outboxkit.core.internal.Tracing;
import io.outboxkit.core.spi.Causes;
import io.outboxkit.core.spi.MessageHandler;
import io.outboxkit.core.spi.OutboxListener;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies each message at most once per consumer, however often it is delivered.
 *
 * <p>The wrapped handler's effect and a row in {@code processed_messages} (consumer name, message
 * id) commit in one transaction, which this handler begins and commits on a connection of its
 * {@link Jdbi}'s, whether the pool hands connections out with auto-commit on or off. Give it a
 * {@code Jdbi} over the pool itself: over one bound to the application's transactions, called
 * inside one that has run a statement, it joins that transaction; called before, it commits its own. A message
 * already recorded is skipped without running the handler. Two deliveries of one message racing
 * on two threads or processes are serialized by the row's primary key: one processes, the other
 * waits for it and then sees a duplicate (or, if the first rolled back, processes it itself).
 * Thread-safe.
 *
 * <p>Logs each message it processes or skips at DEBUG only; what it did with each is in the
 * returned {@link Outcome} or {@link BatchOutcome}, for the application to log or count, and is told
 * to the listeners added with {@link #withListener} (metrics: processed, duplicate, failed, and the
 * lag from the message's write to the commit of its effect). With tracing on (an OpenTelemetry SDK
 * installed as the global one, or given with {@link #withOpenTelemetry}), each message's
 * processing is a CONSUMER span, a child of the trace context its headers carry.
 */
public final class IdempotentHandler {

    /**
     * How often a transaction that PostgreSQL aborted as a deadlock victim or a serialization
     * failure is tried in all: 5.
     */
    public static final int MAX_TRANSACTION_ATTEMPTS = 5;

    /**
     * The longest consumer name: 200 characters, as {@code KafkaSource} takes. The name is part of
     * every processed-message row's primary key, whose index entries PostgreSQL caps at about 2.7 kB.
     */
    public static final int MAX_CONSUMER_LENGTH = 200;

    /**
     * How long, by default, a transaction this handler begins may sit idle between its statements
     * before PostgreSQL ends its session and rolls it back: 10 s. See
     * {@link #withIdleInTransactionTimeout}. A handler's statements follow each other within
     * milliseconds; 10 s leaves room for a handler that pauses between them (a garbage collection,
     * a call it makes to another service), while a redelivery blocked behind the transaction of a
     * replica whose host died waits at most that long, well within the relay's lease (30 s by
     * default), so the relay's next try after its HTTP timeout finds the message free.
     */
    public static final Duration DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT = Duration.ofSeconds(10);

    private static final Logger LOG = LoggerFactory.getLogger(IdempotentHandler.class);

    /** PostgreSQL's SQLState for a session ended by {@code idle_in_transaction_session_timeout}. */
    private static final String IDLE_IN_TRANSACTION_TIMEOUT = "25P03";

    private final Jdbi jdbi;
    private final OutboxSql sql;
    private final String consumer;
    private final MessageHandler handler;
    private final List<OutboxListener> listeners;
    private final OutboxListener listener;
    private final OpenTelemetry openTelemetry;
    private final Tracing tracing;
    /** The own transactions' idle-in-transaction timeout, or zero to keep the server's. */
    private final Duration idleTimeout;

    private IdempotentHandler(Jdbi jdbi, OutboxSql sql, String consumer, MessageHandler handler,
                              List<OutboxListener> listeners, OpenTelemetry openTelemetry, Duration idleTimeout) {
        this.jdbi = jdbi;
        this.sql = sql;
        this.consumer = consumer;
        this.handler = handler;
        this.listeners = List.copyOf(listeners);
        this.listener = SafeListener.of(this.listeners);
        this.openTelemetry = openTelemetry;
        this.tracing = Tracing.of(openTelemetry);
        this.idleTimeout = idleTimeout;
    }

    /**
     * A handler for the consumer named {@code consumer} (several consumers may share a database;
     * each processes every message once).
     *
     * Records go to the processed-messages table of {@link OutboxNames#DEFAULT}.
     *
     * @throws InvalidOptionException naming {@code consumer} when the consumer's name is blank, longer
     *                                than {@value #MAX_CONSUMER_LENGTH} characters, or holds a NUL or a
     *                                lone UTF-16 surrogate (which PostgreSQL cannot store as given: two
     *                                names differing only in such a half would be recorded as one)
     */
    public static IdempotentHandler create(Jdbi jdbi, String consumer, MessageHandler handler) {
        return create(jdbi, OutboxNames.DEFAULT, consumer, handler);
    }

    /**
     * As {@link #create(Jdbi, String, MessageHandler)}, recording processed messages in the table
     * that {@code names} name.
     *
     * @throws InvalidOptionException naming {@code consumer} when the consumer's name is not one
     *                                {@link #create(Jdbi, String, MessageHandler)} takes
     */
    public static IdempotentHandler create(Jdbi jdbi, OutboxNames names, String consumer, MessageHandler handler) {
        Objects.requireNonNull(jdbi, "jdbi");
        Objects.requireNonNull(names, "names");
        Objects.requireNonNull(handler, "handler");
        requireConsumer(consumer);
        return new IdempotentHandler(jdbi, new OutboxSql(names), consumer, handler, List.of(), null,
                DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT);
    }

    /** Refuses, when it is created, a name every message's record would then fail or merge on. */
    private static void requireConsumer(String consumer) {
        if (consumer == null || consumer.isBlank()) {
            throw refusedConsumer("consumer must be a name, not blank");
        }
        if (consumer.length() > MAX_CONSUMER_LENGTH) {
            throw refusedConsumer("consumer must be at most " + MAX_CONSUMER_LENGTH + " characters (it is part of the "
                    + "processed-messages table's key), was " + consumer.length());
        }
        String unstorable = StorableText.refusal("consumer", consumer);
        if (unstorable != null) {
            throw refusedConsumer(unstorable);
        }
    }

    private static InvalidOptionException refusedConsumer(String reason) {
        return new InvalidOptionException("IdempotentHandler", List.of("consumer"), reason);
    }

    /**
     * This handler, also telling {@code listener} what it does with each message (see
     * {@link OutboxListener}: processed, duplicate, failed). A listener that throws is logged and
     * ignored. This handler is unchanged.
     */
    public IdempotentHandler withListener(OutboxListener listener) {
        List<OutboxListener> more = new ArrayList<>(listeners);
        more.add(Objects.requireNonNull(listener, "listener"));
        return new IdempotentHandler(jdbi, sql, consumer, handler, more, openTelemetry, idleTimeout);
    }

    /**
     * This handler, taking its CONSUMER spans from {@code openTelemetry} instead of the global one
     * (the default, once a host installs it; until then no span is made). This handler is unchanged.
     */
    public IdempotentHandler withOpenTelemetry(OpenTelemetry openTelemetry) {
        return new IdempotentHandler(jdbi, sql, consumer, handler, listeners,
                Objects.requireNonNull(openTelemetry, "openTelemetry"), idleTimeout);
    }

    /**
     * This handler, its own transactions ended by PostgreSQL (their session closed, the transaction
     * rolled back) once idle between two statements for {@code timeout}; zero leaves the server's,
     * database's or role's {@code idle_in_transaction_session_timeout} in force, and so does a
     * non-zero setting of theirs shorter than {@code timeout} (it is never loosened). The default is
     * {@link #DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT}. It bounds how long a replica whose host died or
     * was cut off mid-transaction, its connection never closed, holds a message's
     * {@code processed_messages} row, which a redelivery of that message waits for: without it,
     * until TCP keepalive gives up on the connection (about two hours by default). A handler that
     * stays longer than this between its statements fails, its transaction rolled back, with an
     * {@link OutboxException} saying so (PostgreSQL's error, SQLState 25P03, in its cause), and the
     * message is delivered again. It is local to this handler's own transactions: one it joins
     * (see the class comment) keeps the caller's setting. This handler is unchanged.
     *
     * @throws InvalidOptionException naming {@code idleInTransactionTimeout} when it is negative,
     *                                under a millisecond (but not zero), or above
     *                                {@value Integer#MAX_VALUE} ms (PostgreSQL's limit)
     */
    public IdempotentHandler withIdleInTransactionTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.compareTo(Duration.ofMillis(Integer.MAX_VALUE)) > 0
                || !timeout.isZero() && timeout.toMillis() == 0) {
            throw new InvalidOptionException("IdempotentHandler", List.of("idleInTransactionTimeout"),
                    "idleInTransactionTimeout must be 0 (the server's setting) or 1 to " + Integer.MAX_VALUE
                            + " ms, was " + timeout);
        }
        return new IdempotentHandler(jdbi, sql, consumer, handler, listeners, openTelemetry, timeout);
    }

    /**
     * The idle-in-transaction timeout for the transaction of {@code handle}, as PostgreSQL takes it:
     * null (the setting in force) in the caller's.
     */
    private String idleTimeoutIn(Handle handle) {
        return idleTimeout.isZero() || OwnConnections.isCallersTransaction(handle) ? null : idleTimeout.toMillis() + "ms";
    }

    /** The consumer name processed messages are recorded under. */
    public String consumer() {
        return consumer;
    }

    /**
     * Processes {@code message} unless this consumer already has. A transaction that PostgreSQL
     * aborts as a deadlock victim or a serialization failure is retried, up to
     * {@value #MAX_TRANSACTION_ATTEMPTS} times in all; a caller's transaction it joined is not (only
     * the caller can run that again): the {@link OutboxException} says so, with PostgreSQL's error as its cause.
     *
     * @return {@link Outcome#PROCESSED} when the effect committed now, {@link Outcome#DUPLICATE} when
     *     it had committed before
     * @throws MessageHandlingException when the handler threw; nothing was committed (in a caller's
     *                                  transaction it joined, nothing of the message's is left in it)
     * @throws OutboxException          when the database failed; nothing was committed
     */
    public Outcome handle(OutboxMessage message) {
        Objects.requireNonNull(message, "message");
        ConsumerSpans spans = ConsumerSpans.start(tracing, consumer, List.of(message));
        Outcome outcome;
        try (Scope current = spans.makeCurrent()) {
            outcome = handleInTransaction(message);
        } catch (RuntimeException e) {
            spans.end(message.id(), false, e);
            listener.handlingFailed(consumer, message, e);
            throw e;
        } catch (Error e) {
            spans.end(message.id(), false, e);
            listener.handlingFailed(consumer, message, thrown(e));
            throw e;
        }
        spans.end(message.id(), outcome == Outcome.DUPLICATE, null);
        if (outcome == Outcome.DUPLICATE) {
            listener.duplicate(consumer, message);
        } else {
            listener.processed(consumer, message, Duration.between(message.createdAt(), Instant.now()));
        }
        return outcome;
    }

    private Outcome handleInTransaction(OutboxMessage message) {
        boolean[] joined = new boolean[1];
        for (int attempt = 1; ; attempt++) {
            try {
                // In the caller's transaction, a throwing handler's record is undone by the savepoint.
                return OwnConnections.inAtomicTransaction(jdbi, handle -> {
                    joined[0] = OwnConnections.isCallersTransaction(handle);
                    return apply(handle, message);
                });
            } catch (RuntimeException e) {
                if (attempt < MAX_TRANSACTION_ATTEMPTS && Conflicts.abortedByConflict(e) && !joined[0]) {
                    pauseBeforeRetry(attempt, "message " + message.id(), e);
                    continue;
                }
                throw failed("message " + message.id(), joined[0], e);
            }
        }
    }

    /**
     * What the caller is told when {@code what} could not be recorded. A conflict in a caller's
     * transaction is not retried there: it is rolled back to the savepoint before the handler, but
     * keeps the locks it took before (part of the deadlock), so only the caller, rolling it back and
     * running it again, can resolve it.
     */
    private OutboxException failed(String what, boolean joined, Exception e) {
        if (endedWhileIdle(e)) {
            String whose = joined ? "the caller's transaction, which the handler joined, was idle longer than its "
                    + "idle_in_transaction_session_timeout" : "the handler was idle in its transaction longer than "
                    + (idleTimeout.isZero() ? "the server's idle_in_transaction_session_timeout"
                            : "idleInTransactionTimeout (" + idleTimeout + ", or the server's "
                                    + "idle_in_transaction_session_timeout where shorter)");
            String why = "could not record " + what + " for consumer " + consumer + ": " + whose + ", so PostgreSQL "
                    + "ended it, rolled back (" + e.getMessage() + "); let the handler pause less between its "
                    + "statements, or raise the timeout" + (joined ? "" : " with withIdleInTransactionTimeout");
            return e instanceof MessageHandlingException handling
                    ? new MessageHandlingException(handling.messageId(), why, e) : new OutboxException(why, e);
        }
        if (joined && Conflicts.abortedByConflict(e)) {
            return new OutboxException("could not record " + what + " for consumer " + consumer + ": PostgreSQL chose "
                    + "your transaction, which the handler joined, as a deadlock victim or failed it for serialization ("
                    + e.getMessage() + "); it was rolled back to before the handler, but your transaction still holds "
                    + "its locks: roll it back and run it again", e);
        }
        if (e instanceof OutboxException outbox) {
            return outbox;
        }
        return new OutboxException("could not record " + what + " for consumer " + consumer + ": " + e.getMessage(), e);
    }

    /** Whether PostgreSQL ended the session of {@code e}'s transaction for its idle-in-transaction timeout. */
    private static boolean endedWhileIdle(Throwable e) {
        return Causes.chain(e).stream().anyMatch(t -> t instanceof SQLException failure
                && IDLE_IN_TRANSACTION_TIMEOUT.equals(failure.getSQLState()));
    }

    /** An Error the handler or the database layer threw, as the exception a listener is told of. */
    private static Exception thrown(Error e) {
        return new IllegalStateException("the handler threw " + e, e);
    }

    /** Ends every span of a batch that failed whole, and tells the listener of each message once. */
    private void failedWhole(ConsumerSpans spans, List<OutboxMessage> messages, Throwable error, Exception told) {
        spans.endAll(error);
        Set<UUID> seen = new HashSet<>();
        for (OutboxMessage message : messages) {
            if (seen.add(message.id())) {
                listener.handlingFailed(consumer, message, told);
            }
        }
    }

    /**
     * Processes a batch in ONE transaction: one commit for all its effects and records, which is
     * far cheaper than a transaction per message. Each message still gets its own record and
     * outcome. The new messages go to {@link MessageHandler#handleAll} at once; if that throws,
     * the transaction is rolled back (in a caller's transaction it joins, to a savepoint taken
     * before the batch) and the batch is applied again in a new one, each message on
     * its own under a savepoint, so a handler that throws undoes only its own message, which is
     * reported in {@link BatchOutcome#failures()} and left unrecorded. A message appearing twice in the batch
     * is processed once. A transaction that PostgreSQL aborts as a deadlock victim (two
     * overlapping batches locking rows in different orders) or a serialization failure is rolled
     * back whole and retried, up to {@value #MAX_TRANSACTION_ATTEMPTS} times in all; in a caller's
     * transaction it joined, it is not retried but thrown, as by {@link #handle}.
     *
     * @throws OutboxException when the database failed; nothing of the batch was committed
     */
    public BatchOutcome handleAll(List<OutboxMessage> messages) {
        Objects.requireNonNull(messages, "messages");
        if (messages.isEmpty()) {
            return new BatchOutcome(Map.of(), Map.of());
        }
        ConsumerSpans spans = ConsumerSpans.start(tracing, consumer, messages);
        BatchOutcome outcome;
        try (Scope current = spans.makeCurrent()) {
            outcome = handleAllInTransaction(messages);
        } catch (RuntimeException e) {
            failedWhole(spans, messages, e, e);
            throw e;
        } catch (Error e) {
            failedWhole(spans, messages, e, thrown(e));
            throw e;
        }
        Instant committed = Instant.now();
        Set<UUID> told = new HashSet<>();
        for (OutboxMessage message : messages) {
            if (!told.add(message.id())) {
                continue;
            }
            MessageHandlingException failure = outcome.failures().get(message.id());
            Outcome done = outcome.outcomes().get(message.id());
            spans.end(message.id(), done == Outcome.DUPLICATE, failure);
            if (failure != null) {
                listener.handlingFailed(consumer, message, failure);
            } else if (done == Outcome.DUPLICATE) {
                listener.duplicate(consumer, message);
            } else if (done == Outcome.PROCESSED) {
                listener.processed(consumer, message, Duration.between(message.createdAt(), committed));
            }
        }
        return outcome;
    }

    private BatchOutcome handleAllInTransaction(List<OutboxMessage> messages) {
        boolean[] joined = new boolean[1];
        for (int attempt = 1; ; attempt++) {
            try {
                try {
                    // In the caller's transaction, the refused batch's records are undone by the savepoint.
                    return OwnConnections.inAtomicTransaction(jdbi, handle -> {
                        joined[0] = OwnConnections.isCallersTransaction(handle);
                        return applyAll(handle, messages, false);
                    });
                } catch (BatchRefused refused) {
                    LOG.debug("a batch of {} messages failed as a whole ({}); applying them one by one", messages.size(),
                            refused.getCause().getMessage());
                    // There too: an Error out of the handler must not leave the batch's records behind.
                    return OwnConnections.inAtomicTransaction(jdbi, handle -> applyAll(handle, messages, true));
                }
            } catch (SQLException | RuntimeException e) {
                if (attempt < MAX_TRANSACTION_ATTEMPTS && Conflicts.abortedByConflict(e) && !joined[0]) {
                    pauseBeforeRetry(attempt, "a batch of " + messages.size() + " messages", e);
                    continue;
                }
                throw failed("a batch of " + messages.size() + " messages", joined[0], e);
            }
        }
    }

    /**
     * Thrown out of the batch's transaction, to roll it back, when the handler refused the batch as
     * a whole: cheaper, when nothing fails (nearly always), than a savepoint around the handler,
     * which costs two round trips to the database per batch. Only in a caller's transaction, which
     * is not the handler's to roll back, is the batch run under one.
     */
    private static final class BatchRefused extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BatchRefused(Exception cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    /**
     * Records the batch's new ids and applies their messages: all at once, throwing
     * {@link BatchRefused} when the handler refuses that; or, {@code oneByOne}, each under a
     * savepoint of its own.
     */
    private BatchOutcome applyAll(Handle handle, List<OutboxMessage> messages, boolean oneByOne) throws SQLException {
        Set<UUID> fresh = claimFirstProcessing(handle, messages);
        Map<UUID, Outcome> outcomes = new LinkedHashMap<>();
        List<OutboxMessage> toApply = new ArrayList<>(fresh.size());
        for (OutboxMessage message : messages) {
            if (outcomes.containsKey(message.id())) {
                continue; // the same id twice in one batch: the first occurrence decides
            }
            if (fresh.contains(message.id())) {
                outcomes.put(message.id(), Outcome.PROCESSED);
                toApply.add(message);
            } else {
                LOG.debug("skipping message {}: consumer {} processed it before", message.id(), consumer);
                outcomes.put(message.id(), Outcome.DUPLICATE);
            }
        }
        if (toApply.isEmpty()) {
            return new BatchOutcome(outcomes, Map.of());
        }
        if (!oneByOne) {
            applyAllAtOnce(handle, toApply);
            return new BatchOutcome(outcomes, Map.of());
        }
        Map<UUID, MessageHandlingException> failures = new LinkedHashMap<>();
        Connection connection = handle.getConnection();
        for (OutboxMessage message : toApply) {
            // Plain JDBC: Jdbi forgets a savepoint before releasing it, so a failed release could not be rolled back to.
            Savepoint savepoint = connection.setSavepoint();
            try {
                handler.handle(handle, message);
                requireNotAborted(connection);
                connection.releaseSavepoint(savepoint);
            } catch (Exception e) {
                rethrowIfTransient(e);
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                connection.rollback(savepoint);
                forget(handle, message.id());
                outcomes.remove(message.id());
                failures.put(message.id(), new MessageHandlingException(message.id(), "consumer " + consumer
                        + " failed to handle " + message.eventType() + " message " + message.id() + ": " + e.getMessage(), e));
            }
        }
        return new BatchOutcome(outcomes, failures);
    }

    /** The fast path: the handler applies every new message at once, or the batch is refused. */
    private void applyAllAtOnce(Handle handle, List<OutboxMessage> messages) {
        if (LOG.isDebugEnabled()) {
            messages.forEach(message -> LOG.debug("processing message {} for consumer {}", message.id(), consumer));
        }
        try {
            handler.handleAll(handle, List.copyOf(messages));
            requireNotAborted(handle.getConnection());
        } catch (Exception e) {
            rethrowIfTransient(e);
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new BatchRefused(e);
        }
    }

    /**
     * Refuses to go on with a transaction PostgreSQL has aborted: when a handler caught the failure of
     * one of its statements and returned normally, COMMIT would end the transaction as a ROLLBACK
     * without an error (the driver reports none by default), and the message would be reported
     * processed with neither its effect nor its processed row committed.
     */
    private static void requireNotAborted(Connection connection) throws SQLException {
        if (connection.isWrapperFor(BaseConnection.class)
                && connection.unwrap(BaseConnection.class).getTransactionState() == TransactionState.FAILED) {
            throw new IllegalStateException("a statement of the handler failed and the handler went on as if it had not: "
                    + "PostgreSQL aborted the transaction, so none of it can commit (let the exception propagate, or "
                    + "put a savepoint around a statement that may fail)");
        }
    }

    /** A deadlock or serialization failure aborts the whole transaction, which is then retried. */
    private static void rethrowIfTransient(Exception e) {
        if (Conflicts.abortedByConflict(e)) {
            throw e instanceof RuntimeException runtime ? runtime
                    : new OutboxException("transaction aborted: " + e.getMessage(), e);
        }
    }

    private static void pauseBeforeRetry(int attempt, String what, Exception e) {
        LOG.debug("transaction for {} aborted by PostgreSQL ({}); retrying (attempt {} of {})", what,
                e.getMessage(), attempt + 1, MAX_TRANSACTION_ATTEMPTS);
        try {
            Thread.sleep(ThreadLocalRandom.current().nextLong(1, 5L * attempt + 2)); // de-synchronize the rivals
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new OutboxException("interrupted while retrying " + what, interrupted);
        }
    }

    /**
     * Records every id of the batch as processed in one statement; returns those that were new.
     * Ids are inserted in sorted order so that two overlapping batches lock them in the same order
     * and cannot deadlock.
     */
    private Set<UUID> claimFirstProcessing(Handle handle, List<OutboxMessage> messages) throws SQLException {
        UUID[] ids = messages.stream().map(OutboxMessage::id).distinct().sorted(Comparator.naturalOrder())
                .toArray(UUID[]::new);
        Set<UUID> fresh = new HashSet<>();
        try (PreparedStatement insert = handle.getConnection().prepareStatement(sql.insertProcessedBatch)) {
            insert.setString(1, idleTimeoutIn(handle));
            insert.setString(2, consumer);
            // The array's text, not createArrayOf: pgjdbc writes UUIDs (it has no encoder for them)
            // character by character, escaping each.
            insert.setString(3, Arrays.stream(ids).map(UUID::toString).collect(Collectors.joining(",", "{", "}")));
            try (ResultSet rs = insert.executeQuery()) {
                while (rs.next()) {
                    fresh.add(rs.getObject(1, UUID.class));
                }
            }
        }
        return fresh;
    }

    private void forget(Handle handle, UUID id) throws SQLException {
        try (PreparedStatement delete = handle.getConnection().prepareStatement(sql.deleteProcessedOne)) {
            delete.setString(1, consumer);
            delete.setObject(2, id);
            delete.executeUpdate();
        }
    }

    private Outcome apply(Handle handle, OutboxMessage message) {
        if (!claimFirstProcessing(handle, message)) {
            LOG.debug("skipping message {}: consumer {} processed it before", message.id(), consumer);
            return Outcome.DUPLICATE;
        }
        LOG.debug("processing message {} for consumer {}", message.id(), consumer);
        try {
            handler.handle(handle, message);
            requireNotAborted(handle.getConnection());
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new MessageHandlingException(message.id(), "consumer " + consumer + " failed to handle "
                    + message.eventType() + " message " + message.id() + ": " + e.getMessage(), e);
        }
        return Outcome.PROCESSED;
    }

    /** Inserts the processed row; false when it already exists (committed by an earlier delivery). */
    private boolean claimFirstProcessing(Handle handle, OutboxMessage message) {
        try (PreparedStatement insert = handle.getConnection().prepareStatement(sql.insertProcessed)) {
            insert.setString(1, consumer);
            insert.setObject(2, message.id());
            insert.setString(3, idleTimeoutIn(handle));
            return insert.executeUpdate() == 1;
        } catch (SQLException e) {
            throw new OutboxException("could not record message " + message.id() + " as processed by " + consumer
                    + ": " + e.getMessage(), e);
        }
    }
}
