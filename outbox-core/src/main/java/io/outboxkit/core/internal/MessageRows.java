package io.outboxkit.core.internal;

import io.outboxkit.core.OutboxMessage;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.UUID;

/** Reads an {@link OutboxMessage} from a row of {@link OutboxSql}'s columns. */
public final class MessageRows {

    private MessageRows() {
    }

    public static OutboxMessage message(ResultSet rs) throws SQLException {
        return new OutboxMessage(
                rs.getObject("id", UUID.class),
                rs.getLong("seq"),
                rs.getString("aggregate_type"),
                rs.getString("aggregate_id"),
                rs.getString("event_type"),
                rs.getString("payload"),
                Json.readHeaders(rs.getString("headers")),
                instant(rs, "created_at"),
                rs.getInt("attempts"));
    }

    public static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp ts = rs.getTimestamp(column);
        return ts == null ? null : ts.toInstant();
    }
}
