package io.outboxkit.system.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.system.Http;
import io.outboxkit.system.RelayProcess;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.TestDatabase;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** What the fault cases share: short relay settings, and questions about the outbox's leases. */
final class Faults {

    /**
     * The relay settings of the fault cases: claims last 6 s, a delivery times out after 3 s, a
     * failed delivery is retried after 100 ms doubling up to 1 s, and 300 attempts (minutes of
     * failures) before a message is DEAD, so no outage of a case, however slow a loaded machine
     * makes the restart, kills a message. The pool is the least the relay accepts for its two workers.
     */
    static final Map<String, String> RELAY_ENV = Map.of(
            "POLL_INTERVAL_MS", "150",
            "BATCH_SIZE", "25",
            "LEASE_MS", "6000",
            "HTTP_TIMEOUT_MS", "3000",
            "BACKOFF_INITIAL_MS", "100",
            "BACKOFF_MAX_MS", "1000",
            "MAX_ATTEMPTS", "300",
            "DB_POOL_SIZE", "5");

    /** Small pools for order-service and consumer: the shared test server has 100 connections for every test run. */
    static final Map<String, String> SERVICE_ENV = Map.of("DB_POOL_SIZE", "6");

    /** How long the outbox may take to drain after the last fault (several leases and backoffs). */
    static final Duration DRAIN = Duration.ofSeconds(60);
    /** How long the load generator may take to get a definite answer to every request after the load stops. */
    static final Duration SETTLE = Duration.ofSeconds(30);

    private Faults() {
    }

    /** {@link #RELAY_ENV} with {@code overrides}. */
    static Map<String, String> relayEnv(Map<String, String> overrides) {
        Map<String, String> env = new HashMap<>(RELAY_ENV);
        env.putAll(overrides);
        return env;
    }

    /** Rows {@code relay} holds a live lease on: claimed, and their outcome not yet recorded. */
    static long leasedBy(TestDatabase db, String relay) {
        return db.jdbi().withHandle(h -> h.createQuery("""
                        SELECT count(*) FROM outbox
                        WHERE status = 'PENDING' AND locked_by = :relay AND locked_until > now()""")
                .bind("relay", relay).mapTo(Long.class).one());
    }

    /** Rows whose {@code locked_by} still names {@code relay}, whatever the lease's state. */
    static long lockedBy(TestDatabase db, String relay) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM outbox WHERE locked_by = :relay")
                .bind("relay", relay).mapTo(Long.class).one());
    }

    /** Waits until {@code relay} is in the middle of a batch: it holds a lease on rows it has not recorded yet. */
    static void awaitMidBatch(TestDatabase db, RelayProcess relay, Duration timeout) {
        await(relay.name() + " holds a lease (mid-batch)").atMost(timeout).pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(5)).until(() -> leasedBy(db, relay.name()) > 0);
    }

    /**
     * Waits until {@code relay} (whose LEASE_MS is {@code leaseMillis}) holds a lease it took at or
     * after {@code since} (database time), and returns the ids of the rows it holds then: a claim
     * made after something the test did.
     */
    static List<UUID> awaitClaimSince(TestDatabase db, RelayProcess relay, long leaseMillis, OffsetDateTime since,
                                      Duration timeout) {
        List<UUID> claimed = new ArrayList<>();
        await(relay.name() + " claims messages after " + since).atMost(timeout).pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(5)).until(() -> {
                    claimed.clear();
                    claimed.addAll(db.jdbi().withHandle(h -> h.createQuery("""
                                    SELECT id FROM outbox
                                    WHERE status = 'PENDING' AND locked_by = :relay
                                      AND locked_until - :lease * interval '1 millisecond' >= :since""")
                            .bind("relay", relay.name()).bind("lease", leaseMillis).bind("since", since)
                            .mapTo(UUID.class).list()));
                    return !claimed.isEmpty();
                });
        return List.copyOf(claimed);
    }

    /** The rows {@code relay} holds a live lease on, now. */
    static List<UUID> leasedRows(TestDatabase db, String relay) {
        return db.jdbi().withHandle(h -> h.createQuery("""
                        SELECT id FROM outbox WHERE status = 'PENDING' AND locked_by = :relay AND locked_until > now()""")
                .bind("relay", relay).mapTo(UUID.class).list());
    }

    /**
     * Waits until a relay with {@code CLAIM_MODE=lock} is in the middle of a batch: a session of
     * this database sits idle in the transaction of its claim (locks held, delivery under way).
     */
    static void awaitLockedBatch(TestDatabase db, Duration timeout) {
        await("a relay holds row locks (mid-batch)").atMost(timeout).pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(5)).until(() -> db.jdbi().withHandle(h -> h.createQuery("""
                                SELECT count(*) FROM pg_stat_activity
                                WHERE datname = current_database() AND state = 'idle in transaction'
                                  AND query LIKE '%FOR UPDATE SKIP LOCKED%'""")
                        .mapTo(Long.class).one()) > 0);
    }

    /**
     * The PENDING rows some other session holds a row lock on now. Asking takes, for an instant,
     * the lock of every free PENDING row (a relay polling meanwhile skips them once, no more).
     */
    static List<UUID> rowsLockedElsewhere(TestDatabase db) {
        return db.jdbi().inTransaction(h -> h.createQuery("""
                        WITH free AS (SELECT id FROM outbox WHERE status = 'PENDING' FOR UPDATE SKIP LOCKED)
                        SELECT id FROM outbox WHERE status = 'PENDING' AND id NOT IN (SELECT id FROM free)""")
                .mapTo(UUID.class).list());
    }

    /** How many of {@code ids} the consumer has recorded as processed (a test's database has one consumer). */
    static long processed(TestDatabase db, List<UUID> ids) {
        return db.jdbi().withHandle(h -> h.createQuery("""
                        SELECT count(*) FROM processed_messages WHERE message_id = ANY(CAST(:ids AS uuid[]))""")
                .bindArray("ids", String.class, Invariants.texts(ids))
                .mapTo(Long.class).one());
    }

    /** Waits until some session of the database waits for a lock in a statement that mentions {@code table}. */
    static void awaitLockWait(TestDatabase db, String table, Duration timeout) {
        await("a statement on " + table + " waits for a lock").atMost(timeout).pollInterval(Duration.ofMillis(20))
                .until(() -> db.jdbi().withHandle(h -> h.createQuery("""
                                SELECT count(*) FROM pg_stat_activity
                                WHERE wait_event_type = 'Lock' AND query LIKE '%' || :table || '%'""")
                        .bind("table", table).mapTo(Long.class).one()) > 0);
    }

    /** The database's clock. */
    static OffsetDateTime databaseNow(TestDatabase db) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT now()").mapTo(OffsetDateTime.class).one());
    }

    /** The outbox's largest attempts count among PENDING rows. */
    static int maxPendingAttempts(TestDatabase db) {
        return db.jdbi().withHandle(h -> h.createQuery(
                "SELECT coalesce(max(attempts), 0) FROM outbox WHERE status = 'PENDING'").mapTo(Integer.class).one());
    }

    /** Waits until the order service, the consumer and {@code relay} all answer their health check with 200. */
    static void awaitAllHealthy(RunningSystem system, RelayProcess relay, Duration timeout) {
        await("every process answers healthy again, without a restart").atMost(timeout)
                .pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                    assertThat(Http.get(system.orderUrl("/health")).status()).as("order-service health").isEqualTo(200);
                    assertThat(Http.get(system.consumerUrl("/health")).status()).as("consumer health").isEqualTo(200);
                    assertThat(Http.get(relay.adminUrl("/health")).status()).as("relay health").isEqualTo(200);
                });
    }

    /** Closes each of {@code resources} (nulls skipped) in the order given, even when one fails; rethrows the first failure. */
    static void closeAll(AutoCloseable... resources) throws Exception {
        Exception first = null;
        for (AutoCloseable resource : resources) {
            if (resource == null) {
                continue;
            }
            try {
                resource.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
