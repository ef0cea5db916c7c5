package io.outboxkit.bench;

import io.outboxkit.app.Uuids;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxWriter;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;

/**
 * The write path in-process, as order-service writes it ({@code OrderService} and {@code Orders}):
 * a connection from the pool, the order's insert and {@link OutboxWriter#write} in one transaction,
 * plain JDBC, from N threads as fast as they can. The peer's write ({@link PeerOutbox}) is plain
 * JDBC over the same pool: what differs between the two is the outbox.
 */
final class WriterLoad {

    private static final String INSERT_ORDER = "INSERT INTO orders (id, user_id, amount, status) "
            + "VALUES (?, ?, ?, 'CREATED') RETURNING id, user_id, amount, status, created_at";

    private final DataSource dataSource;
    private final OutboxWriter writer = OutboxWriter.create();

    WriterLoad(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** One order and its event, in one transaction. */
    interface Order {
        void create() throws Exception;
    }

    OrderLoad.Result run(int threads, Duration warmup, Duration measured) throws InterruptedException {
        return closedLoop(this::createOrder, threads, warmup, measured);
    }

    /** {@code threads} threads each creating the next order as soon as the last one committed. */
    static OrderLoad.Result closedLoop(Order order, int threads, Duration warmup, Duration measured)
            throws InterruptedException {
        AtomicBoolean counting = new AtomicBoolean(false);
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong created = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Thread worker = new Thread(() -> {
                while (running.get()) {
                    boolean ok;
                    try {
                        order.create();
                        ok = true;
                    } catch (Exception e) {
                        ok = false;
                    }
                    if (counting.get()) {
                        (ok ? created : failed).incrementAndGet();
                    }
                }
            }, "writer-" + i);
            worker.start();
            workers.add(worker);
        }
        Thread.sleep(warmup.toMillis());
        counting.set(true);
        long start = System.nanoTime();
        Thread.sleep(measured.toMillis());
        counting.set(false);
        double seconds = (System.nanoTime() - start) / 1e9;
        running.set(false);
        for (Thread worker : workers) {
            worker.join();
        }
        return new OrderLoad.Result(created.get(), failed.get(), seconds);
    }

    private void createOrder() throws SQLException {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        UUID userId = Customers.random();
        BigDecimal amount = BigDecimal.valueOf(random.nextLong(1, 10_000_000), 2);
        UUID orderId = Uuids.random();
        try (Connection connection = dataSource.getConnection()) {
            connection.setAutoCommit(false);
            try {
                String payload;
                try (PreparedStatement insert = connection.prepareStatement(INSERT_ORDER)) {
                    insert.setObject(1, orderId);
                    insert.setObject(2, userId);
                    insert.setBigDecimal(3, amount);
                    try (ResultSet row = insert.executeQuery()) {
                        row.next();
                        payload = created(row.getObject(1, UUID.class), row.getObject(2, UUID.class),
                                row.getBigDecimal(3), row.getString(4), row.getObject(5, OffsetDateTime.class));
                    }
                }
                writer.write(connection, NewMessage.of("Order", orderId.toString(), "OrderCreated", payload));
            } catch (SQLException | RuntimeException e) {
                connection.rollback();
                throw e;
            }
            connection.commit();
        }
    }

    /** The OrderCreated payload, written as order-service's {@code OrderJson} writes it. */
    private static String created(UUID orderId, UUID userId, BigDecimal amount, String status,
                                  OffsetDateTime createdAt) {
        return new StringBuilder(180).append("{\"order_id\":\"").append(orderId)
                .append("\",\"user_id\":\"").append(userId).append("\",\"amount\":").append(amount)
                .append(",\"status\":\"").append(status).append("\",\"created_at\":\"").append(createdAt.toInstant())
                .append("\"}").toString();
    }
}
