package io.outboxkit.core.internal;

import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxMessage;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/** The poller's statements, each its own short transaction. */
public final class OutboxStore {

    private static final int MAX_ERROR_LENGTH = 2_000;

    private final Jdbi jdbi;

    public OutboxStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** A failed delivery: the message, why, and how long until its retry. */
    public record Failure(OutboxMessage message, Exception cause, Duration delay) {

        /** The error text recorded on the message: the exception's message, or its type. */
        public String error() {
            String text = cause.getMessage() == null ? cause.getClass().getSimpleName()
                    : cause.getClass().getSimpleName() + ": " + cause.getMessage();
            return text.length() <= MAX_ERROR_LENGTH ? text : text.substring(0, MAX_ERROR_LENGTH);
        }
    }

    /** Every message of {@code batch} failed with {@code cause}. */
    public static Map<UUID, Exception> allFailed(List<OutboxMessage> batch, Exception cause) {
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        batch.forEach(m -> failures.put(m.id(), cause));
        return failures;
    }

    /**
     * Claims up to {@code limit} due messages, sorted in write order.
     *
     * <p>The claim commits without waiting for its WAL flush ({@code synchronous_commit = off} for
     * this transaction only), which saves a disk flush per batch. That is safe: a claim lost in a
     * database crash only returns its messages to PENDING, to be delivered again, exactly as after
     * a relay crash; and because WAL is written in order, the durable commit that records the
     * outcome (PUBLISHED) also makes the claim before it durable, so no later message of an
     * aggregate can be claimed on the strength of a lost one.
     */
    public List<OutboxMessage> claim(boolean ordered, boolean deadBlocks, int limit, String owner, Duration lease) {
        String sql = OutboxSql.claim(ordered, deadBlocks);
        return withConnection("claim messages", connection -> {
            connection.setAutoCommit(false);
            try (Statement settings = connection.createStatement();
                 PreparedStatement claim = connection.prepareStatement(sql)) {
                settings.execute(OutboxSql.CLAIM_WITHOUT_FLUSH_WAIT);
                claim.setInt(1, limit);
                claim.setString(2, owner);
                claim.setLong(3, lease.toMillis());
                List<OutboxMessage> batch = new ArrayList<>();
                try (ResultSet rs = claim.executeQuery()) {
                    while (rs.next()) {
                        batch.add(MessageRows.message(rs));
                    }
                }
                connection.commit();
                connection.setAutoCommit(true);
                batch.sort(Comparator.comparingLong(OutboxMessage::sequence));
                return batch;
            } catch (SQLException | RuntimeException e) {
                try {
                    connection.rollback();
                    connection.setAutoCommit(true);
                } catch (SQLException rollback) {
                    e.addSuppressed(rollback); // a broken connection: the pool discards it
                }
                throw e;
            }
        });
    }

    /** Marks the messages PUBLISHED (those still pending; an operator's change in between wins). */
    public void markPublished(List<UUID> ids) {
        if (ids.isEmpty()) {
            return;
        }
        withConnection("mark " + ids.size() + " message(s) published", connection -> {
            try (PreparedStatement mark = connection.prepareStatement(OutboxSql.MARK_PUBLISHED)) {
                mark.setArray(1, connection.createArrayOf("uuid", ids.toArray()));
                return mark.executeUpdate();
            }
        });
    }

    /** Records failures (retry later, or DEAD once out of attempts); returns the ids now DEAD. */
    public List<UUID> markFailed(List<Failure> failures, int maxAttempts, String owner) {
        return withConnection("record " + failures.size() + " failed deliveries", connection -> {
            try (PreparedStatement mark = connection.prepareStatement(OutboxSql.MARK_FAILED + " RETURNING o.id, o.status")) {
                mark.setInt(1, maxAttempts);
                mark.setArray(2, connection.createArrayOf("uuid", failures.stream().map(f -> f.message().id()).toArray()));
                mark.setArray(3, connection.createArrayOf("text", failures.stream().map(Failure::error).toArray()));
                mark.setArray(4, connection.createArrayOf("int8", failures.stream().map(f -> f.delay().toMillis()).toArray()));
                mark.setString(5, owner);
                List<UUID> dead = new ArrayList<>();
                try (ResultSet rs = mark.executeQuery()) {
                    while (rs.next()) {
                        if ("DEAD".equals(rs.getString(2))) {
                            dead.add(rs.getObject(1, UUID.class));
                        }
                    }
                }
                return dead;
            }
        });
    }

    /** Runs {@code work} on a pooled connection in auto-commit mode; wraps SQL errors with what was attempted. */
    <T> T withConnection(String attempted, SqlWork<T> work) {
        try (Handle handle = jdbi.open()) {
            return work.run(handle.getConnection());
        } catch (SQLException e) {
            throw new OutboxException("could not " + attempted + ": " + e.getMessage(), e);
        } catch (OutboxException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new OutboxException("could not " + attempted + ": " + e.getMessage(), e);
        }
    }

    /** JDBC work that may throw {@link SQLException}. */
    @FunctionalInterface
    interface SqlWork<T> {
        T run(Connection connection) throws SQLException;
    }
}
