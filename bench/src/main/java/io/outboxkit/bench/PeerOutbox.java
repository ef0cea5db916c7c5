package io.outboxkit.bench;

import com.gruelbox.transactionoutbox.Dialect;
import com.gruelbox.transactionoutbox.Instantiator;
import com.gruelbox.transactionoutbox.Persistor;
import com.gruelbox.transactionoutbox.Submitter;
import com.gruelbox.transactionoutbox.ThreadLocalContextTransactionManager;
import com.gruelbox.transactionoutbox.TransactionManager;
import com.gruelbox.transactionoutbox.TransactionOutbox;
import io.outboxkit.app.Uuids;
import java.math.BigDecimal;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;

/**
 * The nearest peer, gruelbox's transaction-outbox, set up as its README shows for plain JDBC on
 * PostgreSQL, over the same connection pool as {@link WriterLoad}: its write (the order row and
 * one scheduled call per transaction, as OutboxWriter writes the order and one message) and its
 * drain (flush, then each entry run and deleted in its own transaction).
 */
final class PeerOutbox implements AutoCloseable {

    /**
     * What the peer's entries call once their transaction has committed: counts the calls, nothing
     * else. Not final: the peer schedules a call through a subclass it generates.
     */
    public static class Events {
        static final AtomicLong DELIVERED = new AtomicLong();

        /** The OrderCreated event, its fields as strings so that the peer's serializer takes them as they are. */
        public void orderCreated(String orderId, String userId, String amount, String status, String createdAt) {
            DELIVERED.incrementAndGet();
        }
    }

    private final ThreadLocalContextTransactionManager transactions;
    private final TransactionOutbox outbox;
    private final ThreadPoolExecutor executor;

    private PeerOutbox(DataSource dataSource, Submitter submitter, ThreadPoolExecutor executor) {
        this.transactions = TransactionManager.fromDataSource(dataSource);
        this.executor = executor;
        Events events = new Events();
        this.outbox = TransactionOutbox.builder()
                .transactionManager(transactions)
                .persistor(Persistor.forDialect(Dialect.POSTGRESQL_9))
                .instantiator(Instantiator.using(type -> events))
                .submitter(submitter)
                .build();
    }

    /** Writes entries and leaves them for a later drain: the write alone, as OutboxWriter is measured with no relay. */
    static PeerOutbox writeOnly(DataSource dataSource) {
        return new PeerOutbox(dataSource, (entry, process) -> { }, null);
    }

    /**
     * The peer's defaults: each entry submitted as its transaction commits to the executor
     * {@code Submitter.withDefaultExecutor()} builds (one thread, a queue of 16,384), built here so
     * that {@link #close} can discard what is still queued.
     */
    static PeerOutbox withDefaultSubmitter(DataSource dataSource) {
        ThreadPoolExecutor executor = new ThreadPoolExecutor(1, 1, 0L, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(16_384));
        return new PeerOutbox(dataSource, Submitter.withExecutor(executor), executor);
    }

    /** For draining a backlog with {@link #drain}: each claimed entry run on a pool of {@code threads}. */
    static PeerOutbox draining(DataSource dataSource, int threads) {
        ThreadPoolExecutor executor = (ThreadPoolExecutor) Executors.newFixedThreadPool(threads);
        return new PeerOutbox(dataSource, Submitter.withExecutor(executor), executor);
    }

    /** One order and its event in one transaction. */
    void createOrder() throws SQLException {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        UUID userId = Customers.random();
        BigDecimal amount = BigDecimal.valueOf(random.nextLong(1, 10_000_000), 2);
        UUID orderId = Uuids.random();
        transactions.inTransactionThrows(tx -> {
            OffsetDateTime createdAt;
            try (PreparedStatement insert = tx.connection().prepareStatement("INSERT INTO orders (id, user_id, amount, status) "
                    + "VALUES (?, ?, ?, 'CREATED') RETURNING created_at")) {
                insert.setObject(1, orderId);
                insert.setObject(2, userId);
                insert.setBigDecimal(3, amount);
                try (ResultSet rs = insert.executeQuery()) {
                    rs.next();
                    createdAt = rs.getObject(1, OffsetDateTime.class);
                }
            }
            outbox.schedule(Events.class).orderCreated(orderId.toString(), userId.toString(), amount.toPlainString(),
                    "CREATED", createdAt.toInstant().toString());
        });
    }

    /**
     * Runs every due entry: flushes until no entry is left to claim, then waits for the
     * submitted ones to finish. Returns how many were run.
     */
    long drain(BenchDb db, Duration limit) throws Exception {
        long before = Events.DELIVERED.get();
        long deadline = System.nanoTime() + limit.toNanos();
        while (outbox.flush()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the peer's backlog was not claimed within " + limit);
            }
        }
        awaitEmpty(db, deadline);
        return Events.DELIVERED.get() - before;
    }

    /** Waits until the peer has run and deleted every entry. */
    static void awaitEmpty(BenchDb db, long deadlineNanos) throws SQLException, InterruptedException {
        while (db.queryLong("SELECT count(*) FROM (SELECT 1 FROM txno_outbox LIMIT 1) e") > 0) {
            if (System.nanoTime() > deadlineNanos) {
                throw new IllegalStateException("the peer's entries were not all run in time");
            }
            Thread.sleep(50); // sampling the table, as the bench does for the relay's drain
        }
    }

    /** Empties the peer's table. */
    static void reset(BenchDb db) throws SQLException {
        db.execute("TRUNCATE txno_outbox");
        db.execute("VACUUM ANALYZE txno_outbox");
    }

    /**
     * A backlog of {@code count} due entries: one written through the peer, copied in SQL (the
     * drain does not depend on what the calls carry).
     */
    void writeBacklog(BenchDb db, int count) throws SQLException {
        reset(db);
        createOrder();
        // Due a day ago, whatever the clock's time zone: the peer stores its times as local timestamps.
        db.execute("INSERT INTO txno_outbox (id, uniqueRequestId, invocation, lastAttemptTime, nextAttemptTime, attempts, "
                + "blocked, processed, version) "
                + "SELECT gen_random_uuid()::text, NULL, t.invocation, NULL, t.nextAttemptTime - interval '1 day', "
                + "t.attempts, t.blocked, t.processed, t.version "
                + "FROM (SELECT * FROM txno_outbox LIMIT 1) t, generate_series(1, " + (count - 1) + ")");
        db.execute("UPDATE txno_outbox SET nextAttemptTime = nextAttemptTime - interval '1 day' "
                + "WHERE nextAttemptTime = (SELECT max(nextAttemptTime) FROM txno_outbox)");
        db.execute("ANALYZE txno_outbox");
    }

    /** Stops running entries: what is still queued stays in the table, as after a restart. */
    @Override
    public void close() throws InterruptedException {
        if (executor != null) {
            executor.getQueue().clear(); // the entry being run finishes; the others wait in the table
            executor.shutdown();
            executor.awaitTermination(30, TimeUnit.SECONDS);
        }
    }
}
