package io.outboxkit.orders;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Jsons;
import java.io.IOException;
import java.util.List;
import org.jdbi.v3.core.Jdbi;

/** What the tests read back from the tables, straight from the database. */
final class Rows {

    /** An outbox row of an order, with the id of the transaction that wrote it. */
    record Event(long seq, String aggregateType, String eventType, JsonNode payload, String xmin) {
    }

    private final Jdbi jdbi;

    Rows(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    long count(String table) {
        return jdbi.withHandle(h -> h.createQuery("SELECT count(*) FROM " + table).mapTo(Long.class).one());
    }

    long ordersOf(String userId) {
        return jdbi.withHandle(h -> h.createQuery("SELECT count(*) FROM orders WHERE user_id = CAST(:u AS uuid)")
                .bind("u", userId).mapTo(Long.class).one());
    }

    long keys(String key) {
        return jdbi.withHandle(h -> h.createQuery("SELECT count(*) FROM idempotency_keys WHERE key = :k")
                .bind("k", key).mapTo(Long.class).one());
    }

    /** The order's outbox events, in write order. */
    List<Event> eventsOf(String orderId) {
        return jdbi.withHandle(h -> h.createQuery("SELECT seq, aggregate_type, event_type, payload::text AS payload, "
                        + "xmin::text AS xmin FROM outbox WHERE aggregate_id = :id ORDER BY seq")
                .bind("id", orderId)
                .map((rs, ctx) -> new Event(rs.getLong("seq"), rs.getString("aggregate_type"),
                        rs.getString("event_type"), parse(rs.getString("payload")), rs.getString("xmin")))
                .list());
    }

    /** The id of the transaction that last wrote the order's row. */
    String orderXmin(String orderId) {
        return jdbi.withHandle(h -> h.createQuery("SELECT xmin::text FROM orders WHERE id = CAST(:id AS uuid)")
                .bind("id", orderId).mapTo(String.class).one());
    }

    String status(String orderId) {
        return jdbi.withHandle(h -> h.createQuery("SELECT status FROM orders WHERE id = CAST(:id AS uuid)")
                .bind("id", orderId).mapTo(String.class).one());
    }

    private static JsonNode parse(String json) {
        try {
            return Jsons.mapper().readTree(json);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
