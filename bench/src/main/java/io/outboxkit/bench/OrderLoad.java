package io.outboxkit.bench;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/** Creates orders through {@code POST /orders}: as fast as N clients can (closed loop), or at a fixed rate (open loop). */
final class OrderLoad implements AutoCloseable {

    /** Orders created and requests that failed, over a measured time. */
    record Result(long created, long failed, double seconds) {
        double perSecond() {
            return created / seconds;
        }
    }

    private final PlainHttp http;
    private final UUID[] users;

    OrderLoad(String ordersUrl, int userCount) {
        this.http = new PlainHttp(URI.create(ordersUrl));
        this.users = Customers.ids(userCount);
    }

    /** {@code clients} threads each sending the next order as soon as the last one is answered. */
    Result closedLoop(int clients, Duration warmup, Duration measured) throws InterruptedException {
        AtomicBoolean counting = new AtomicBoolean(false);
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong created = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            Thread thread = new Thread(() -> {
                while (running.get()) {
                    boolean ok = createOne();
                    if (counting.get()) {
                        (ok ? created : failed).incrementAndGet();
                    }
                }
            }, "order-client-" + i);
            thread.start();
            threads.add(thread);
        }
        Thread.sleep(warmup.toMillis());
        counting.set(true);
        long start = System.nanoTime();
        Thread.sleep(measured.toMillis());
        counting.set(false);
        double seconds = (System.nanoTime() - start) / 1e9;
        running.set(false);
        for (Thread thread : threads) {
            thread.join();
        }
        return new Result(created.get(), failed.get(), seconds);
    }

    /** Orders at {@code perSecond}, each started on schedule whatever the earlier ones do. */
    Result openLoop(double perSecond, Duration measured) throws InterruptedException {
        return openLoop(perSecond, measured, null);
    }

    /**
     * As {@link #openLoop(double, Duration)}, recording into {@code micros} (a concurrent histogram,
     * or null) each order's time from its scheduled start to its answer: a late start counts.
     */
    Result openLoop(double perSecond, Duration measured, Histogram micros) throws InterruptedException {
        ExecutorService senders = Executors.newFixedThreadPool(64);
        AtomicLong created = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long intervalNanos = (long) (1e9 / perSecond);
        long start = System.nanoTime();
        long end = start + measured.toNanos();
        long late = 0;
        for (long next = start; next < end; next += intervalNanos) {
            long wait = next - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            } else {
                late++;
            }
            long scheduled = next;
            senders.execute(() -> {
                (createOne() ? created : failed).incrementAndGet();
                if (micros != null) {
                    micros.recordValue(Math.min(micros.getHighestTrackableValue(), (System.nanoTime() - scheduled) / 1000));
                }
            });
        }
        senders.shutdown();
        senders.awaitTermination(30, TimeUnit.SECONDS);
        return new Result(created.get(), failed.get(), measured.toNanos() / 1e9);
    }

    /** Closes the connections. */
    @Override
    public void close() {
        http.close();
    }

    private boolean createOne() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        String body = "{\"user_id\":\"" + users[random.nextInt(users.length)] + "\",\"amount\":"
                + random.nextInt(1, 100_000) + "." + String.format("%02d", random.nextInt(100)) + "}";
        return http.post(body) == 201;
    }
}
