package io.outboxkit.system.faults;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.outboxkit.core.spi.Texts;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A background stream of orders, payments and cancellations against the order service's HTTP
 * API, recording what the service answered: every 201 (the order) and every 200 transition (the
 * order's new status), so the invariants can be checked against the answers alone.
 *
 * <p>Each worker thread creates orders for a fixed set of users and pays or cancels some of its own
 * earlier orders (an order is only ever touched by the worker that created it, so the last answer
 * recorded for it is its final status). Every request carries an {@code Idempotency-Key}. A
 * request without a definite answer (503, a refused connection, a timeout) may or may not have
 * happened: it is retried with the same key, later and again by {@link #settle(Duration)}, until
 * the service answers it; so after settling, the answers recorded are exactly what the database
 * holds. Any other answer (a 500, a 409 the model does not expect, an error that is not JSON or
 * shows a stack trace) is recorded as unexpected and fails {@link #requireSettled()}.
 *
 * <p>Thread-safe. {@link #close()} stops the workers.
 */
public final class LoadGenerator implements AutoCloseable {

    /** An answer slower than this is recorded as slow (the API must answer within seconds, also while PostgreSQL is down). */
    public static final Duration SLOW_ANSWER = Duration.ofSeconds(5);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_UNRESOLVED_PER_WORKER = 20;

    private final String orderBaseUrl;
    private final Options options;
    private final List<UUID> users;
    private final HttpClient client;
    private final Map<UUID, PlacedOrder> orders = new ConcurrentHashMap<>();
    private final List<Worker> workers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicLong createsStarted = new AtomicLong();
    private final AtomicLong created = new AtomicLong();
    private final AtomicLong paid = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private final AtomicLong unavailable = new AtomicLong();
    private final AtomicLong noAnswer = new AtomicLong();
    private final AtomicLong slow = new AtomicLong();
    private final AtomicLong answers = new AtomicLong();
    private final AtomicLong maxLatencyMillis = new AtomicLong();
    private final ConcurrentLinkedQueue<String> unexpected = new ConcurrentLinkedQueue<>();
    private volatile boolean running = true;

    /** How the load is shaped. */
    public record Options(int workers, int users, double operationsPerSecond, long maxOrders, double transitionShare,
                          Duration requestTimeout) {

        /** 3 workers, 6 users, about 60 requests a second, no limit on orders, 40% payments and cancellations. */
        public static Options defaults() {
            return new Options(3, 6, 60, Long.MAX_VALUE, 0.4, Duration.ofSeconds(10));
        }

        public Options withWorkers(int n) {
            return new Options(n, users, operationsPerSecond, maxOrders, transitionShare, requestTimeout);
        }

        /** At most this many orders in all; the workers end when they are placed. */
        public Options withMaxOrders(long n) {
            return new Options(workers, users, operationsPerSecond, n, transitionShare, requestTimeout);
        }

        /** The target request rate of all workers together; 0 for as fast as the service answers. */
        public Options withRate(double perSecond) {
            return new Options(workers, users, perSecond, maxOrders, transitionShare, requestTimeout);
        }

        public Options withUsers(int n) {
            return new Options(workers, n, operationsPerSecond, maxOrders, transitionShare, requestTimeout);
        }
    }

    /** What the order service answered about one order: its user and amount (from the 201), its status and events. */
    public static final class PlacedOrder {
        private final UUID id;
        private final UUID user;
        private final BigDecimal amount;
        private final List<String> events = Collections.synchronizedList(new ArrayList<>(List.of("OrderCreated")));
        private volatile String status = "CREATED";

        PlacedOrder(UUID id, UUID user, BigDecimal amount) {
            this.id = id;
            this.user = user;
            this.amount = amount;
        }

        public UUID id() {
            return id;
        }

        public UUID user() {
            return user;
        }

        public BigDecimal amount() {
            return amount;
        }

        /** The status of the last answer. */
        public String status() {
            return status;
        }

        /** The events the answers imply, in order: OrderCreated, then OrderPaid / OrderCancelled per 200. */
        public List<String> events() {
            synchronized (events) {
                return List.copyOf(events);
            }
        }
    }

    /** Counters of what happened so far. */
    public record Stats(long created, long paid, long cancelled, long answers, long unavailable, long noAnswer,
                        long slow, long maxLatencyMillis, int unexpected) {
        @Override
        public String toString() {
            return "created=" + created + " paid=" + paid + " cancelled=" + cancelled + " answers=" + answers
                    + " 503=" + unavailable + " no-answer=" + noAnswer + " slow=" + slow + " max-latency="
                    + maxLatencyMillis + "ms unexpected=" + unexpected;
        }
    }

    private LoadGenerator(String orderBaseUrl, Options options) {
        this.orderBaseUrl = orderBaseUrl;
        this.options = options;
        List<UUID> u = new ArrayList<>();
        for (int i = 0; i < options.users(); i++) {
            u.add(UUID.randomUUID());
        }
        this.users = List.copyOf(u);
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).build();
    }

    /** Starts the workers against {@code orderBaseUrl} (e.g. {@code http://127.0.0.1:8080}). */
    public static LoadGenerator start(String orderBaseUrl, Options options) {
        LoadGenerator load = new LoadGenerator(orderBaseUrl, options);
        for (int i = 0; i < options.workers(); i++) {
            Worker worker = load.new Worker(i);
            load.workers.add(worker);
            Thread thread = new Thread(worker, "load-" + i);
            thread.setDaemon(true);
            load.threads.add(thread);
        }
        load.threads.forEach(Thread::start);
        return load;
    }

    /** The users orders are placed for. */
    public List<UUID> users() {
        return users;
    }

    /** Every order that got a 201, with what the later answers said. */
    public Map<UUID, PlacedOrder> orders() {
        return Map.copyOf(orders);
    }

    /**
     * Records an order a test placed itself (outside the workers) from the order service's 201
     * answer, so the invariants count it; the workers never touch it.
     */
    public void adopt(UUID user, BigDecimal amount, JsonNode created) {
        UUID id = UUID.fromString(created.get("id").asText());
        orders.put(id, new PlacedOrder(id, user, amount));
        this.created.incrementAndGet();
    }

    /** Orders that got a 201 so far. */
    public long created() {
        return created.get();
    }

    public Stats stats() {
        return new Stats(created.get(), paid.get(), cancelled.get(), answers.get(), unavailable.get(), noAnswer.get(),
                slow.get(), maxLatencyMillis.get(), unexpected.size());
    }

    /** The answers that should never happen (5xx other than 503, stack traces, non-JSON errors, unexpected 4xx). */
    public List<String> unexpected() {
        return List.copyOf(unexpected);
    }

    /** Waits until {@code n} more orders than now have got a 201. */
    public void awaitMoreOrders(long n, Duration timeout) {
        long target = created.get() + n;
        await("load generator: " + target + " orders created").atMost(timeout).pollInterval(Duration.ofMillis(50))
                .until(() -> created.get() >= target || !anyWorkerAlive());
        if (created.get() < target) {
            throw new AssertionError("the load generator ended before " + target + " orders: " + stats());
        }
    }

    /** Whether a worker is still running (they end after {@link #stop()} or once maxOrders are placed). */
    public boolean anyWorkerAlive() {
        return threads.stream().anyMatch(Thread::isAlive);
    }

    /**
     * Waits up to {@code max} for the workers to end by themselves (maxOrders placed).
     *
     * @return whether they have
     */
    public boolean awaitWorkersDone(Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        for (Thread thread : threads) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left > 0) {
                thread.join(left);
            }
        }
        return !anyWorkerAlive();
    }

    /** Stops placing new requests; returns once every worker thread has ended. */
    public void stop() throws InterruptedException {
        running = false;
        for (Thread thread : threads) {
            thread.join(options.requestTimeout().toMillis() + 5_000);
            if (thread.isAlive()) {
                thread.interrupt();
                thread.join(5_000);
            }
        }
    }

    /**
     * After {@link #stop()}: retries every request still without a definite answer, with its key,
     * until each has one or {@code timeout} passes.
     */
    public void settle(Duration timeout) throws InterruptedException {
        if (anyWorkerAlive()) {
            throw new IllegalStateException("stop() the load generator before settling it");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Worker worker : workers) {
            while (!worker.unresolved.isEmpty() && System.nanoTime() < deadline) {
                if (!worker.retryDue()) {
                    // retry pacing for requests the service could not answer yet, not synchronisation
                    TimeUnit.MILLISECONDS.sleep(50);
                }
            }
        }
    }

    /** Requests without a definite answer yet (their effect is unknown). */
    public int unresolved() {
        return workers.stream().mapToInt(w -> w.unresolved.size()).sum();
    }

    /** Fails unless every request got a definite answer and none was unexpected. */
    public void requireSettled() {
        List<String> problems = new ArrayList<>();
        if (unresolved() > 0) {
            problems.add(unresolved() + " request(s) never got a definite answer: "
                    + workers.stream().flatMap(w -> w.unresolved.stream()).limit(5).map(Op::toString).toList());
        }
        unexpected.stream().limit(20).forEach(problems::add);
        if (!problems.isEmpty()) {
            throw new AssertionError("load generator: " + stats() + "\n" + String.join("\n", problems));
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    // --- the requests -------------------------------------------------------------------------

    private enum Kind { CREATE, PAY, CANCEL }

    /** One request: sent again with the same key and body until the service answers it. */
    private static final class Op {
        final Kind kind;
        final UUID orderId;
        final UUID user;
        final BigDecimal amount;
        final String key = "load-" + UUID.randomUUID();
        int tries;
        long nextTryNanos;
        String lastProblem = "";

        Op(Kind kind, UUID orderId, UUID user, BigDecimal amount) {
            this.kind = kind;
            this.orderId = orderId;
            this.user = user;
            this.amount = amount;
        }

        String path() {
            return switch (kind) {
                case CREATE -> "/orders";
                case PAY -> "/orders/" + orderId + "/pay";
                case CANCEL -> "/orders/" + orderId + "/cancel";
            };
        }

        String body() {
            return kind == Kind.CREATE ? "{\"user_id\": \"" + user + "\", \"amount\": " + amount.toPlainString() + "}" : "";
        }

        @Override
        public String toString() {
            return "POST " + path() + " (key " + key + ", " + tries + " tries, last: " + lastProblem + ")";
        }
    }

    private final class Worker implements Runnable {
        final List<Op> unresolved = Collections.synchronizedList(new ArrayList<>());
        final List<UUID> open = new ArrayList<>();
        final Random random;
        final long intervalNanos;
        long nextSlot = System.nanoTime();

        Worker(int index) {
            random = new Random(index * 7919L + System.nanoTime());
            intervalNanos = options.operationsPerSecond() <= 0 ? 0
                    : (long) (TimeUnit.SECONDS.toNanos(1) * options.workers() / options.operationsPerSecond());
        }

        @Override
        public void run() {
            while (running && !Thread.currentThread().isInterrupted()) {
                pace();
                if (retryDue()) {
                    continue;
                }
                if (unresolved.size() >= MAX_UNRESOLVED_PER_WORKER) {
                    idle();
                } else if (!open.isEmpty() && random.nextDouble() < options.transitionShare()) {
                    transition();
                } else if (createsStarted.get() < options.maxOrders() && createsStarted.incrementAndGet() <= options.maxOrders()) {
                    UUID user = users.get(random.nextInt(users.size()));
                    BigDecimal amount = BigDecimal.valueOf(100 + random.nextInt(99_900), 2);
                    attempt(new Op(Kind.CREATE, null, user, amount));
                } else if (unresolved.isEmpty()) {
                    return; // every order placed and answered
                } else {
                    idle();
                }
            }
        }

        /** Nothing to send until a retry is due: retry pacing, not synchronisation. */
        private void idle() {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }

        /** Rate limiting of the load itself, not synchronisation. */
        private void pace() {
            if (intervalNanos == 0) {
                return;
            }
            nextSlot = Math.max(nextSlot + intervalNanos, System.nanoTime() - intervalNanos);
            long wait = nextSlot - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            }
        }

        private void transition() {
            UUID id = open.remove(random.nextInt(open.size()));
            PlacedOrder order = orders.get(id);
            Kind kind = "CREATED".equals(order.status) && random.nextDouble() < 0.7 ? Kind.PAY : Kind.CANCEL;
            attempt(new Op(kind, id, order.user, order.amount));
        }

        /** Retries the oldest unresolved request whose time has come; returns whether it sent one. */
        boolean retryDue() {
            Op due;
            synchronized (unresolved) {
                due = unresolved.stream().filter(op -> op.nextTryNanos - System.nanoTime() <= 0).findFirst().orElse(null);
            }
            if (due == null) {
                return false;
            }
            unresolved.remove(due);
            attempt(due);
            return true;
        }

        private void attempt(Op op) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(orderBaseUrl + op.path()))
                    .timeout(options.requestTimeout())
                    .header("Content-Type", "application/json")
                    .header("Idempotency-Key", op.key)
                    .POST(HttpRequest.BodyPublishers.ofString(op.body()))
                    .build();
            long start = System.nanoTime();
            HttpResponse<String> response;
            try {
                response = client.send(request, HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                noAnswer.incrementAndGet();
                retryLater(op, "no answer: " + e);
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                retryLater(op, "interrupted");
                return;
            }
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            answers.incrementAndGet();
            maxLatencyMillis.accumulateAndGet(millis, Math::max);
            if (millis > SLOW_ANSWER.toMillis()) {
                slow.incrementAndGet();
                unexpected.add("slow answer (" + millis + " ms): " + op + " -> " + response.statusCode());
            }
            record(op, response.statusCode(), response.body());
        }

        private void record(Op op, int status, String body) {
            JsonNode json = parse(body);
            if (body.contains("Exception") || body.contains("\tat ")) {
                unexpected.add("stack trace in an answer: " + op + " -> " + status + " " + abbreviate(body));
            }
            if (status == 503) {
                unavailable.incrementAndGet();
                if (json == null || !json.path("error").isTextual()) {
                    unexpected.add("503 without a JSON error: " + op + " -> " + abbreviate(body));
                }
                retryLater(op, "503 " + abbreviate(body));
                return;
            }
            if (op.kind == Kind.CREATE && status == 201 && json != null) {
                UUID id = UUID.fromString(json.get("id").asText());
                orders.put(id, new PlacedOrder(id, op.user, op.amount));
                created.incrementAndGet();
                open.add(id);
                return;
            }
            if (op.kind != Kind.CREATE && status == 200 && json != null) {
                PlacedOrder order = orders.get(op.orderId);
                String now = json.path("status").asText();
                order.events.add(op.kind == Kind.PAY ? "OrderPaid" : "OrderCancelled");
                order.status = now;
                (op.kind == Kind.PAY ? paid : cancelled).incrementAndGet();
                if (!"CANCELLED".equals(now)) {
                    open.add(op.orderId);
                }
                return;
            }
            unexpected.add("unexpected answer: " + op + " -> " + status + " " + abbreviate(body));
        }

        private void retryLater(Op op, String problem) {
            op.tries++;
            op.lastProblem = problem;
            op.nextTryNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.min(1_000, 50L << Math.min(op.tries, 5)));
            unresolved.add(op);
        }
    }

    private static JsonNode parse(String body) {
        try {
            return body == null || body.isEmpty() ? null : JSON.readTree(body);
        } catch (IOException e) {
            return null;
        }
    }

    private static String abbreviate(String text) {
        return text == null ? "" : Texts.abbreviate(text, 300);
    }
}
