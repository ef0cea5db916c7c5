package io.outboxkit.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.Uuids;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxWriter;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.Jdbi;

/**
 * The write path in-process: the order insert of order-service and {@link OutboxWriter#write} in one
 * JDBI transaction, from N threads as fast as they can.
 */
final class WriterLoad {

    private final Jdbi jdbi;
    private final OutboxWriter writer = OutboxWriter.create();

    WriterLoad(Jdbi jdbi) {
        this.jdbi = jdbi;
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

    private void createOrder() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        UUID userId = UUID.fromString(String.format("00000000-0000-4000-8000-%012d", random.nextInt(1000)));
        BigDecimal amount = BigDecimal.valueOf(random.nextLong(1, 10_000_000), 2);
        UUID orderId = Uuids.random();
        jdbi.useTransaction(handle -> {
            OffsetDateTime createdAt = handle.createQuery("INSERT INTO orders (id, user_id, amount, status) "
                            + "VALUES (:id, :userId, :amount, 'CREATED') RETURNING id, user_id, amount, status, created_at")
                    .bind("id", orderId)
                    .bind("userId", userId)
                    .bind("amount", amount)
                    .map((rs, ctx) -> rs.getObject("created_at", OffsetDateTime.class))
                    .one();
            ObjectNode payload = Jsons.mapper().createObjectNode();
            payload.put("order_id", orderId.toString());
            payload.put("user_id", userId.toString());
            payload.put("amount", amount);
            payload.put("status", "CREATED");
            payload.put("created_at", createdAt.toInstant().toString());
            writer.write(handle, NewMessage.of("Order", orderId.toString(), "OrderCreated", payload.toString()));
        });
    }
}
