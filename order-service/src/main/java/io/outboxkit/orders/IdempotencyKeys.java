package io.outboxkit.orders;

import io.outboxkit.app.http.ApiError;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The {@code idempotency_keys} table: the answer given to each keyed request, stored in the
 * transaction of the change it answers, so a crash cannot keep one without the other.
 *
 * <p>{@link #claim} inserts the key first thing in the transaction. Its primary key serialises
 * requests with the same key: while one is in flight, another's insert waits on its row, then
 * either finds the committed answer (and replays it) or, if the first rolled back, claims the key
 * itself. So concurrent retries never make two orders.
 *
 * <p>{@link #deleteExpired} forgets keys older than their time to live; a key deleted while a retry
 * of it is being claimed reads as vanished, and that retry claims it anew. Stateless and thread-safe.
 */
final class IdempotencyKeys {

    /** How often a claim that found the key is retried when the key vanished before it was read. */
    private static final int CLAIM_ATTEMPTS = 3;
    // The placeholder answer is never seen: the row is only visible once record() has replaced it
    // and the transaction commits.
    private static final String INSERT = "INSERT INTO idempotency_keys (key, request_hash, response_code, "
            + "response_body) VALUES (?, ?, 0, '') ON CONFLICT (key) DO NOTHING";
    private static final String SELECT = "SELECT request_hash, response_code, response_body "
            + "FROM idempotency_keys WHERE key = ?";
    private static final String UPDATE = "UPDATE idempotency_keys SET response_code = ?, response_body = ? "
            + "WHERE key = ?";

    // SKIP LOCKED: a key a request holds right now is not deleted under it.
    private static final String DELETE_EXPIRED = "DELETE FROM idempotency_keys WHERE key IN ("
            + "SELECT key FROM idempotency_keys WHERE created_at < now() - ? * interval '1 millisecond' "
            + "LIMIT ? FOR UPDATE SKIP LOCKED)";

    private IdempotencyKeys() {
    }

    /**
     * Deletes the keys stored longer ago than {@code ttl}, {@code batchSize} per transaction so that
     * no batch holds locks for long, until none is left or the thread is interrupted (the service
     * stops: the next run deletes the rest).
     *
     * @return how many were deleted
     * @throws IllegalStateException when the database fails (batches already deleted stay deleted)
     */
    static long deleteExpired(DataSource dataSource, Duration ttl, int batchSize) {
        long total = 0;
        try (Connection connection = dataSource.getConnection();
             PreparedStatement delete = connection.prepareStatement(DELETE_EXPIRED)) {
            connection.setAutoCommit(true);
            int deleted;
            do {
                delete.setLong(1, ttl.toMillis());
                delete.setInt(2, batchSize);
                deleted = delete.executeUpdate();
                total += deleted;
            } while (deleted == batchSize && !Thread.currentThread().isInterrupted());
            return total;
        } catch (SQLException e) {
            throw new IllegalStateException("could not delete idempotency keys older than " + ttl + " (" + total
                    + " deleted before the failure): " + e.getMessage(), e);
        }
    }

    /**
     * Claims {@code request}'s key in {@code connection}'s transaction.
     *
     * @return empty when the key is new (the caller does the work, then calls {@link #record});
     *     otherwise the stored answer to the earlier request, to give again
     * @throws ApiError 422 when the key was used for a different request
     */
    static Optional<Reply> claim(Connection connection, IdempotentRequest request) throws SQLException {
        for (int attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
            int inserted;
            try (PreparedStatement insert = connection.prepareStatement(INSERT)) {
                insert.setString(1, request.key());
                insert.setString(2, request.fingerprint());
                inserted = insert.executeUpdate();
            }
            if (inserted == 1) {
                return Optional.empty();
            }
            Optional<Stored> stored = stored(connection, request.key());
            if (stored.isPresent()) {
                if (!stored.get().requestHash().equals(request.fingerprint())) {
                    throw new ApiError(422, IdempotentRequest.HEADER + " was already used for a different request "
                            + "(method, path or body); use a new key for a new request");
                }
                return Optional.of(new Reply(stored.get().status(), stored.get().body(), true));
            }
        }
        throw new IllegalStateException("idempotency key neither inserted nor found after " + CLAIM_ATTEMPTS
                + " attempts");
    }

    /** Stores the answer to the request whose key this transaction {@linkplain #claim claimed}. */
    static void record(Connection connection, IdempotentRequest request, Reply reply) throws SQLException {
        int updated;
        try (PreparedStatement update = connection.prepareStatement(UPDATE)) {
            update.setInt(1, reply.status());
            update.setString(2, reply.body());
            update.setString(3, request.key());
            updated = update.executeUpdate();
        }
        if (updated != 1) {
            throw new IllegalStateException("idempotency key was not claimed in this transaction");
        }
    }

    private static Optional<Stored> stored(Connection connection, String key) throws SQLException {
        try (PreparedStatement select = connection.prepareStatement(SELECT)) {
            select.setString(1, key);
            try (ResultSet rows = select.executeQuery()) {
                return rows.next() ? Optional.of(new Stored(rows.getString(1), rows.getInt(2), rows.getString(3)))
                        : Optional.empty();
            }
        }
    }

    private record Stored(String requestHash, int status, String body) {
    }
}
