package io.outboxkit.consumer;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * The consumer's tables: {@code customer_totals}, {@code consumer_order_status} and
 * {@code consumer_ordering_violations}. Writes go through the caller's handle (the message's
 * transaction); reads open their own. Stateless and thread-safe.
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

    private final Jdbi jdbi;

    LoyaltyStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** Counts one more order of {@code amount} for {@code userId}. */
    void addOrder(Handle tx, UUID userId, BigDecimal amount) {
        tx.createUpdate("""
                        INSERT INTO customer_totals (user_id, order_count, total_amount) VALUES (:user, 1, :amount)
                        ON CONFLICT (user_id) DO UPDATE
                        SET order_count = customer_totals.order_count + 1,
                            total_amount = customer_totals.total_amount + EXCLUDED.total_amount""")
                .bind("user", userId)
                .bind("amount", amount)
                .execute();
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
        return jdbi.withHandle(h -> h.createQuery("SELECT count(*) FROM processed_messages WHERE consumer = :consumer")
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
