package io.outboxkit.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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

/** Creates orders through {@code POST /orders}: as fast as N clients can (closed loop), or at a fixed rate (open loop). */
final class OrderLoad {

    /** Orders created and requests that failed, over a measured time. */
    record Result(long created, long failed, double seconds) {
        double perSecond() {
            return created / seconds;
        }
    }

    private final URI orders;
    private final HttpClient client;
    private final UUID[] users;

    OrderLoad(String ordersUrl, int userCount) {
        this.orders = URI.create(ordersUrl);
        // The client's own executor: without one it uses the common fork-join pool, which on 2 CPUs
        // has one thread, and CompletableFuture then starts a new thread for each async step of
        // each request (measured: the bench took 0.43 cores at 500 orders/s, mostly thread starts).
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .executor(Executors.newFixedThreadPool(2, daemon("order-client-http")))
                .connectTimeout(Duration.ofSeconds(5)).build();
        this.users = new UUID[userCount];
        for (int i = 0; i < userCount; i++) {
            users[i] = UUID.fromString(String.format("00000000-0000-4000-8000-%012d", i));
        }
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
            senders.execute(() -> (createOne() ? created : failed).incrementAndGet());
        }
        senders.shutdown();
        senders.awaitTermination(30, TimeUnit.SECONDS);
        return new Result(created.get(), failed.get(), measured.toNanos() / 1e9);
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicLong count = new AtomicLong();
        return task -> {
            Thread thread = new Thread(task, name + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    private boolean createOne() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        String body = "{\"user_id\":\"" + users[random.nextInt(users.length)] + "\",\"amount\":"
                + random.nextInt(1, 100_000) + "." + String.format("%02d", random.nextInt(100)) + "}";
        HttpRequest request = HttpRequest.newBuilder(orders)
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        try {
            return client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 201;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
