package io.outboxkit.consumer;

import io.outboxkit.core.OutboxNames;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * The consumer's tables: {@code customer_totals}, {@code consumer_order_status} and
 * {@code consumer_ordering_violations}, and the count of its records in the processed-messages table
 * its {@link OutboxNames} name. Writes go through the caller's handle (the message's transaction);
 * reads open their own. Stateless and thread-safe.
 */
final class LoyaltyStore {

    /** How a customer stands: orders counted and their total. */
    record CustomerTotals(UUID userId, long orderCount, BigDecimal totalAmount) {
    }

    /** The consumer's view of an order: its status and the sequence of the event that set it. */
    record OrderView(UUID orderId, String status, Long lastSequence) {
    }

    /** Whether a status event moved the order's view, or came after a later one and was kept out. */
    enum Applied { APPLIED, OUT_OF_ORDER }

    /** What a batch adds to one customer's totals. */
    record CustomerDelta(long orders, BigDecimal amount) {
        CustomerDelta plus(CustomerDelta other) {
            return new CustomerDelta(orders + other.orders, amount.add(other.amount));
        }
    }

    /** A status event of a batch: the message and its type, what it says, the status it sets, its sequence (0: unknown). */
    record StatusChange(UUID messageId, String eventType, OrderEvent event, String status, long sequence) {
    }

    private static final String ADD_ORDERS = """
            INSERT INTO customer_totals (user_id, order_count, total_amount)
            SELECT t.user_id, t.n, t.amount FROM unnest(?::uuid[], ?::bigint[], ?::numeric[]) AS t(user_id, n, amount)
            ORDER BY t.user_id
            ON CONFLICT (user_id) DO UPDATE
            SET order_count = customer_totals.order_count + EXCLUDED.order_count,
                total_amount = customer_totals.total_amount + EXCLUDED.total_amount""";

    /** The rule of {@link #applyStatus}, for many orders at once: an older event leaves the row as it is. */
    private static final String APPLY_STATUSES = """
            INSERT INTO consumer_order_status AS c (order_id, user_id, status, last_seq)
            SELECT t.order_id, t.user_id, t.status, t.seq
            FROM unnest(?::uuid[], ?::uuid[], ?::text[], ?::bigint[]) AS t(order_id, user_id, status, seq)
            ORDER BY t.order_id
            ON CONFLICT (order_id) DO UPDATE
            SET user_id = COALESCE(c.user_id, EXCLUDED.user_id),
                status = CASE WHEN EXCLUDED.last_seq < c.last_seq THEN c.status ELSE EXCLUDED.status END,
                last_seq = CASE WHEN EXCLUDED.last_seq < c.last_seq THEN c.last_seq
                                ELSE COALESCE(EXCLUDED.last_seq, c.last_seq) END,
                updated_at = now()
            RETURNING c.order_id, c.last_seq""";

    private static final String RECORD_VIOLATIONS = """
            INSERT INTO consumer_ordering_violations (message_id, order_id, seq, previous_seq)
            SELECT * FROM unnest(?::uuid[], ?::uuid[], ?::bigint[], ?::bigint[])
            ON CONFLICT (message_id) DO NOTHING""";

    /** The largest total {@code customer_totals.total_amount} (numeric(14,2)) holds. */
    static final BigDecimal MAX_TOTAL = new BigDecimal("999999999999.99");

    private final Jdbi jdbi;
    /** The processed-messages table the consumer's {@link io.outboxkit.core.IdempotentHandler} records in, as SQL. */
    private final String processedTable;

    LoyaltyStore(Jdbi jdbi, OutboxNames names) {
        this.jdbi = jdbi;
        this.processedTable = names.qualifiedProcessedTable();
    }

    /**
     * Counts one more order of {@code amount} (below 10^10) for {@code userId}.
     *
     * @return false, changing nothing, when the customer's total would exceed {@link #MAX_TOTAL}
     */
    boolean addOrder(Handle tx, UUID userId, BigDecimal amount) {
        return tx.createUpdate("""
                        INSERT INTO customer_totals (user_id, order_count, total_amount) VALUES (:user, 1, :amount)
                        ON CONFLICT (user_id) DO UPDATE
                        SET order_count = customer_totals.order_count + 1,
                            total_amount = customer_totals.total_amount + EXCLUDED.total_amount
                        WHERE customer_totals.total_amount + EXCLUDED.total_amount <= :max""")
                .bind("user", userId)
                .bind("amount", amount)
                .bind("max", MAX_TOTAL)
                .execute() == 1;
    }

    /**
     * A batch's effect in one round trip: each customer's orders and amounts added, then
     * {@link #applyStatus} for events of distinct orders, each statement locking its rows in key
     * order. {@code customers} may be empty.
     *
     * @return the events that came after a later one of their order: recorded as violations, status kept
     */
    List<StatusChange> applyBatch(Handle tx, Map<UUID, CustomerDelta> customers, List<StatusChange> changes)
            throws SQLException {
        if (changes.isEmpty()) {
            return List.of(); // every order event, OrderCreated included, sets a status
        }
        Connection connection = tx.getConnection();
        Map<UUID, Long> lastSeq = new HashMap<>();
        boolean adding = !customers.isEmpty();
        try (PreparedStatement apply = connection.prepareStatement(adding ? ADD_ORDERS + ";\n" + APPLY_STATUSES
                : APPLY_STATUSES)) {
            int next = 1;
            if (adding) {
                apply.setString(next++, uuidArray(customers.keySet().stream()));
                apply.setArray(next++, connection.createArrayOf("int8",
                        customers.values().stream().map(CustomerDelta::orders).toArray(Long[]::new)));
                apply.setArray(next++, connection.createArrayOf("numeric",
                        customers.values().stream().map(CustomerDelta::amount).toArray()));
            }
            apply.setString(next++, uuidArray(changes.stream().map(c -> c.event().orderId())));
            apply.setString(next++, uuidArray(changes.stream().map(c -> c.event().userId())));
            apply.setArray(next++, connection.createArrayOf("text", changes.stream().map(StatusChange::status).toArray()));
            apply.setArray(next, connection.createArrayOf("int8",
                    changes.stream().map(c -> c.sequence() > 0 ? c.sequence() : null).toArray(Long[]::new)));
            boolean rows = apply.execute();
            if (adding && !rows) {
                rows = apply.getMoreResults(); // past the totals' update count, to the statuses' rows
            }
            if (!rows) {
                throw new SQLException("the status upsert returned no rows");
            }
            try (ResultSet rs = apply.getResultSet()) {
                while (rs.next()) {
                    lastSeq.put(rs.getObject(1, UUID.class), rs.getObject(2, Long.class));
                }
            }
        }
        List<StatusChange> late = new ArrayList<>();
        for (StatusChange change : changes) {
            Long last = lastSeq.get(change.event().orderId());
            if (change.sequence() > 0 && last != null && change.sequence() < last) {
                late.add(change);
            }
        }
        if (!late.isEmpty()) {
            try (PreparedStatement record = connection.prepareStatement(RECORD_VIOLATIONS)) {
                record.setArray(1, connection.createArrayOf("uuid", late.stream().map(StatusChange::messageId).toArray()));
                record.setArray(2, connection.createArrayOf("uuid", late.stream().map(c -> c.event().orderId()).toArray()));
                record.setArray(3, connection.createArrayOf("int8", late.stream().map(StatusChange::sequence).toArray()));
                record.setArray(4, connection.createArrayOf("int8",
                        late.stream().map(c -> lastSeq.get(c.event().orderId())).toArray()));
                record.executeUpdate();
            }
        }
        return late;
    }

    /**
     * {@code ids} as the text of a {@code uuid[]} (a null as NULL): pgjdbc writes an array of
     * objects it has no encoder for (UUIDs among them) character by character, escaping each,
     * which cost the consumer more per batch than the rest of this statement's parameters.
     */
    private static String uuidArray(Stream<UUID> ids) {
        return ids.map(id -> id == null ? "NULL" : id.toString()).collect(Collectors.joining(",", "{", "}"));
    }

    /**
     * Sets the order's status as of the event with {@code sequence} (0: unknown, always applied).
     * An event older than the last one applied leaves the status as it is and is recorded as an
     * ordering violation. Concurrent events of one order are serialized on its row.
     */
    Applied applyStatus(Handle tx, UUID messageId, OrderEvent event, String status, long sequence) {
        Long seq = sequence > 0 ? sequence : null;
        int inserted = tx.createUpdate("""
                        INSERT INTO consumer_order_status (order_id, user_id, status, last_seq)
                        VALUES (:order, CAST(:user AS uuid), :status, CAST(:seq AS bigint))
                        ON CONFLICT (order_id) DO NOTHING""")
                .bind("order", event.orderId())
                .bindByType("user", event.userId(), UUID.class)
                .bind("status", status)
                .bindByType("seq", seq, Long.class)
                .execute();
        if (inserted == 1) {
            return Applied.APPLIED;
        }
        Long lastSeq = tx.createQuery("SELECT last_seq FROM consumer_order_status WHERE order_id = :order FOR UPDATE")
                .bind("order", event.orderId())
                .mapTo(Long.class)
                .one();
        boolean outOfOrder = seq != null && lastSeq != null && seq < lastSeq;
        if (outOfOrder) {
            tx.createUpdate("""
                            INSERT INTO consumer_ordering_violations (message_id, order_id, seq, previous_seq)
                            VALUES (:message, :order, :seq, :previous)
                            ON CONFLICT (message_id) DO NOTHING""")
                    .bind("message", messageId)
                    .bind("order", event.orderId())
                    .bind("seq", seq.longValue())
                    .bind("previous", lastSeq.longValue())
                    .execute();
        }
        tx.createUpdate("""
                        UPDATE consumer_order_status
                        SET user_id = COALESCE(user_id, CAST(:user AS uuid)),
                            status = CASE WHEN :outOfOrder THEN status ELSE :status END,
                            last_seq = CASE WHEN :outOfOrder THEN last_seq ELSE COALESCE(CAST(:seq AS bigint), last_seq) END,
                            updated_at = now()
                        WHERE order_id = :order""")
                .bind("order", event.orderId())
                .bindByType("user", event.userId(), UUID.class)
                .bind("status", status)
                .bindByType("seq", seq, Long.class)
                .bind("outOfOrder", outOfOrder)
                .execute();
        return outOfOrder ? Applied.OUT_OF_ORDER : Applied.APPLIED;
    }

    /** The customer's totals; zeros for a customer with no order seen. */
    CustomerTotals customer(UUID userId) {
        return jdbi.withHandle(h -> h.createQuery(
                                "SELECT order_count, total_amount FROM customer_totals WHERE user_id = :user")
                        .bind("user", userId)
                        .map((rs, ctx) -> new CustomerTotals(userId, rs.getLong(1), rs.getBigDecimal(2)))
                        .findOne())
                .orElse(new CustomerTotals(userId, 0, BigDecimal.ZERO.setScale(2, RoundingMode.UNNECESSARY)));
    }

    /** The consumer's view of the order, if any event of it was applied. */
    Optional<OrderView> order(UUID orderId) {
        return jdbi.withHandle(h -> h.createQuery(
                        "SELECT status, last_seq FROM consumer_order_status WHERE order_id = :order")
                .bind("order", orderId)
                .map((rs, ctx) -> new OrderView(orderId, rs.getString(1), rs.getObject(2, Long.class)))
                .findOne());
    }

    /** How many messages {@code consumer} has recorded as processed (within the retention window). */
    long processedCount(String consumer) {
        return jdbi.withHandle(h -> h.createQuery("SELECT count(*) FROM " + processedTable + " WHERE consumer = :consumer")
                .bind("consumer", consumer)
                .mapTo(Long.class)
                .one());
    }

    /** How many events were recorded as applied out of order. */
    long violationCount() {
        return jdbi.withHandle(h -> h.createQuery("SELECT count(*) FROM consumer_ordering_violations")
                .mapTo(Long.class)
                .one());
    }
}
