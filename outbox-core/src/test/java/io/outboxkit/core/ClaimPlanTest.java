package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.internal.OutboxSql;
import io.outboxkit.core.internal.OwnConnections;
import io.outboxkit.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The poller's claims are planned for the outbox as it is when they run, never on a plan
 * PostgreSQL cached earlier, and the claim's ordering check stays a probe of the aggregate's index
 * whatever the statistics say. A generic plan cached while the outbox was empty claims a backlog
 * that arrives later in time quadratic in its size (measured: 131 s for one claim of 100 out of
 * 20,000); an anti-join planned from steady-state statistics (nothing pending) does much the same.
 * The mark runs on a plan cached per connection, which must still find a later backlog's messages
 * by primary key.
 */
class ClaimPlanTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    /**
     * Enough polls for the JDBC driver to prepare a statement on the server (it does at the fifth
     * use) and for PostgreSQL to settle on a generic plan.
     */
    private static final int POLLS = 20;
    private static final Duration TIMEOUT = OutboxPoller.DEFAULT_STATEMENT_TIMEOUT;
    private static final OutboxSql SQL = new OutboxSql(OutboxNames.DEFAULT);
    /** Pending messages written after the plans were cached. */
    private static final int BACKLOG = 20_000;

    /** One connection, so that the session whose plans are inspected is the poller's. */
    private HikariDataSource session;
    private Jdbi jdbi;

    @BeforeEach
    void emptyAndVacuumed() {
        Outbox.clear(db.jdbi());
        db.jdbi().useHandle(h -> h.execute("VACUUM ANALYZE outbox"));
        session = db.newPool(1); // a connection of its own, on which nothing else ever ran
        jdbi = Jdbi.create(session);
    }

    @AfterEach
    void close() {
        session.close();
    }

    @ParameterizedTest
    @EnumSource(ClaimMode.class)
    void the_claims_are_planned_at_each_execution_and_only_the_mark_once_per_connection(ClaimMode mode) {
        assumeTrue(jdbi.withHandle(h -> h.createQuery("SELECT current_setting('server_version_num')::int")
                .mapTo(Integer.class).one()) >= 140000, "pg_prepared_statements counts plans from PostgreSQL 14");
        pollOnAnEmptyOutbox(mode);

        Map<Boolean, List<Map<String, Object>>> prepared = preparedOutboxStatements("generic_plans, custom_plans").stream()
                .collect(Collectors.partitioningBy(ClaimPlanTest::isMark));
        assertThat(prepared.get(true)).as("the mark, prepared on the server").singleElement().satisfies(mark -> {
            assertThat((Long) mark.get("custom_plans")).as("plans made for one execution").isZero();
            assertThat((Long) mark.get("generic_plans")).as("executions on the cached plan (half the deliveries fail)")
                    .isGreaterThanOrEqualTo(POLLS / 2);
        });
        assertThat(prepared.get(false)).as("the claim and the failure record, prepared on the server").hasSize(2)
                .allSatisfy(statement -> {
                    assertThat((Long) statement.get("generic_plans")).as("executions on a cached plan").isZero();
                    assertThat((Long) statement.get("custom_plans")).as("plans made for one execution")
                            .isGreaterThanOrEqualTo(POLLS / 2);
                });
    }

    @ParameterizedTest
    @EnumSource(ClaimMode.class)
    void a_mark_planned_on_an_empty_outbox_finds_a_later_backlog_by_primary_key(ClaimMode mode) throws Exception {
        pollOnAnEmptyOutbox(mode);
        db.jdbi().useHandle(h -> h.execute(INSERT_ORDERS.formatted("'PENDING'", BACKLOG)));
        List<UUID> batch = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT id FROM outbox WHERE status = 'PENDING' ORDER BY seq LIMIT 100").mapTo(UUID.class).list());
        Map<String, Object> mark = preparedOutboxStatements("").stream().filter(ClaimPlanTest::isMark).findFirst().orElseThrow();

        JsonNode plan = explainCached((String) mark.get("name"), batch);

        long pages = plan.path("Shared Hit Blocks").asLong() + plan.path("Shared Read Blocks").asLong();
        assertThat(pages).as("pages read to mark 100 out of %d pending", BACKLOG).isLessThan(BACKLOG / 10);
        assertThat(plan.toString()).contains("\"Index Name\":\"outbox_pkey\"").doesNotContain("Seq Scan");
    }

    /** Polls {@link #POLLS} times on an empty, vacuumed outbox, and once more on a message each time. */
    private void pollOnAnEmptyOutbox(ClaimMode mode) {
        AtomicInteger deliveries = new AtomicInteger();
        OutboxPoller poller = OutboxPoller.builder(jdbi, message -> {
            if (deliveries.incrementAndGet() % 2 == 0) {
                throw new IllegalStateException("every other delivery fails, so that failures are recorded too");
            }
        }).claimMode(mode).backoff(Duration.ofMinutes(1), Duration.ofMinutes(5)).build(); // no retry comes due meanwhile
        for (int i = 0; i < POLLS; i++) {
            assertThat(poller.pollOnce()).isZero(); // the claim, on an empty outbox
            String aggregate = "agg-" + i; // its own aggregate: a failed message holds back only later ones of its own
            db.jdbi().useTransaction(h -> OutboxWriter.create().write(h, Outbox.message(aggregate, 0)));
            assertThat(poller.pollOnce()).isOne(); // the claim, then a mark published or a failure recorded
        }
        assertThat(deliveries).hasValue(POLLS);
    }

    /** The statements on the outbox prepared on the poller's connection, with {@code more} columns if any. */
    private List<Map<String, Object>> preparedOutboxStatements(String more) {
        return jdbi.withHandle(h -> h.createQuery("SELECT name, statement" + (more.isEmpty() ? "" : ", " + more)
                + " FROM pg_prepared_statements WHERE statement ILIKE '%outbox%'").mapToMap().list());
    }

    private static boolean isMark(Map<String, Object> prepared) {
        return ((String) prepared.get("statement")).contains("SET status = 'PUBLISHED'");
    }

    /**
     * EXPLAIN ANALYZE of the mark prepared as {@code name} on the poller's connection, marking
     * {@code batch}, on the plan it has cached, under its settings; rolled back. The top plan node.
     */
    private JsonNode explainCached(String name, List<UUID> batch) throws Exception {
        String ids = batch.stream().map(id -> "'" + id + "'").collect(Collectors.joining(",", "ARRAY[", "]::uuid[]"));
        String json = jdbi.inTransaction(h -> {
            h.execute(OutboxSql.cachedPlan(TIMEOUT));
            String explained = h.createQuery("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE \"" + name + "\"(" + ids + ")")
                    .mapTo(String.class).one();
            h.rollback();
            return explained;
        });
        return new ObjectMapper().readTree(json).get(0).get("Plan");
    }

    @ParameterizedTest
    @EnumSource(ClaimMode.class)
    void the_ordering_check_probes_the_aggregates_index_even_when_statistics_say_nothing_is_pending(ClaimMode mode)
            throws SQLException {
        backlogAfterSteadyStateStatistics();
        // The lowest position to read (all) and the batch size; for a lease first the owner and the lease in ms.
        String plan = mode == ClaimMode.LOCK ? explain(SQL.lock(true, true, TIMEOUT), List.of(Long.MIN_VALUE, 100))
                : explain(SQL.claim(true, true, TIMEOUT), List.of("plan-test", 30_000L, Long.MIN_VALUE, 100));

        assertThat(plan).as("the ordering check is a sub-plan run per candidate")
                .containsPattern("\"Subplan Name\": \"SubPlan \\d+\"")
                .doesNotContain("Anti Join");
        assertThat(plan).as("which probes the aggregate's index with the candidate's own aggregate")
                .containsPattern("\"Index Cond\": \"\\(\\(aggregate_type = o(_1)?\\.aggregate_type\\) "
                        + "AND \\(aggregate_id = o(_1)?\\.aggregate_id\\) AND \\(seq < o(_1)?\\.seq\\)\\)\"");
    }

    @ParameterizedTest
    @EnumSource(ClaimMode.class)
    void a_claim_walks_the_pending_index_in_write_order_when_the_statistics_predate_the_outbox_rows(ClaimMode mode)
            throws SQLException {
        db.jdbi().useHandle(h -> { // analyzed while empty (before each test), then a stream delivered but for a few
            h.execute(INSERT_ORDERS.formatted("'PENDING'", 20_000));
            h.execute("UPDATE outbox SET status = 'PUBLISHED', published_at = now() WHERE seq <= (SELECT max(seq) - 10 FROM outbox)");
        });

        String plan = mode == ClaimMode.LOCK ? explain(SQL.lock(true, true, TIMEOUT), List.of(Long.MIN_VALUE, 100))
                : explain(SQL.claim(true, true, TIMEOUT), List.of("plan-test", 30_000L, Long.MIN_VALUE, 100));

        assertThat(plan).as("candidates read from the pending index in write order, until the batch is full")
                .contains("\"Node Type\": \"Index Scan\"").contains("\"Index Name\": \"outbox_pending_seq\"")
                .doesNotContain("Bitmap").doesNotContain("Seq Scan").doesNotContain("\"Node Type\": \"Sort\"");
    }

    @ParameterizedTest
    @EnumSource(ClaimMode.class)
    void a_claim_with_a_floor_starts_reading_the_pending_index_there(ClaimMode mode) throws SQLException {
        db.jdbi().useHandle(h -> {
            h.execute(INSERT_ORDERS.formatted("'PENDING'", 20_000));
            h.execute("UPDATE outbox SET status = 'PUBLISHED', published_at = now() WHERE seq <= (SELECT max(seq) - 10 FROM outbox)");
        });
        long floor = db.jdbi().withHandle(h -> h.createQuery("SELECT max(seq) - 10 FROM outbox").mapTo(Long.class).one());

        String plan = mode == ClaimMode.LOCK ? explain(SQL.lock(true, true, TIMEOUT), List.of(floor, 100))
                : explain(SQL.claim(true, true, TIMEOUT), List.of("plan-test", 30_000L, floor, 100));

        assertThat(plan).as("the pending index read from the floor on, past none of the entries below it")
                .contains("\"Index Name\": \"outbox_pending_seq\"")
                .containsPattern("\"Index Cond\": \"\\(seq >= '?" + floor + "'?(::bigint)?\\)\"");
    }

    @Test
    void a_lease_claim_updates_its_messages_through_the_primary_key_on_an_outbox_of_a_few_thousand_rows()
            throws SQLException {
        db.jdbi().useHandle(h -> { // statistics taken during a backlog, which has since been delivered but one
            h.execute(INSERT_ORDERS.formatted("'PENDING'", 7_500)); // a steady stream's outbox, retention on
            h.execute("ANALYZE outbox");
            h.execute("UPDATE outbox SET status = 'PUBLISHED', published_at = now() WHERE seq < (SELECT max(seq) FROM outbox)");
        });

        String plan = explain(SQL.claim(true, true, TIMEOUT), List.of("plan-test", 30_000L, Long.MIN_VALUE, 100));

        assertThat(plan).as("the claimed ids looked up, not joined to a scan of the outbox")
                .contains("\"Index Name\": \"outbox_pkey\"").doesNotContain("Seq Scan");
    }

    @ParameterizedTest
    @EnumSource(ClaimMode.class)
    void the_outcome_finds_its_messages_by_primary_key_even_when_statistics_say_nothing_is_pending(ClaimMode mode)
            throws SQLException {
        backlogAfterSteadyStateStatistics();
        boolean locked = mode == ClaimMode.LOCK;
        UUID[] batch = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT id FROM outbox WHERE status = 'PENDING' ORDER BY seq LIMIT 100").mapTo(UUID.class).list())
                .toArray(UUID[]::new);
        long[] delays = new long[batch.length];
        String[] errors = new String[batch.length];
        java.util.Arrays.fill(errors, "refused");

        for (boolean delete : new boolean[] {false, true}) {
            for (boolean reportLater : new boolean[] {false, true}) {
                String plan = explain(SQL.markPublished(locked, delete, reportLater, TIMEOUT), List.of((Object) batch));
                assertThat(plan).as("mark published (delete: %s, report later: %s)", delete, reportLater)
                        .contains("\"Index Name\": \"outbox_pkey\"").doesNotContain("outbox_pending_seq");
            }
        }
        String[] traceparents = new String[batch.length]; // the first with a context to record, the rest without
        traceparents[0] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        List<Object> failed = new java.util.ArrayList<>(List.of(10, batch, errors, delays, traceparents,
                new String[batch.length]));
        if (!locked) {
            failed.add(1_700_000_000_000_000L); // the lease end the claim returned (epoch microseconds)
            failed.add("plan-test"); // the lease's owner
        }
        assertThat(explain(SQL.markFailed(locked, TIMEOUT), failed)).as("record failures")
                .contains("\"Index Name\": \"outbox_pkey\"").doesNotContain("Seq Scan")
                .doesNotContain("outbox_pending_seq").doesNotContain("outbox_undelivered_aggregate");
    }

    /**
     * The JSON plan PostgreSQL makes for the statement after the settings of {@code sql}, under
     * them, with these parameters.
     */
    private static String explain(String sql, List<Object> parameters) throws SQLException {
        // Without the statements that make it a transaction of its own (the isolation, the commit).
        String prefix = OwnConnections.READ_COMMITTED + ";\n";
        sql = sql.startsWith(prefix) ? sql.substring(prefix.length()) : sql;
        sql = sql.endsWith(";\nCOMMIT") ? sql.substring(0, sql.length() - ";\nCOMMIT".length()) : sql;
        String settings = sql.substring(0, sql.indexOf(";"));
        String statement = sql.substring(sql.indexOf(";") + 1);
        return db.jdbi().<String, SQLException>inTransaction(h -> {
            h.execute(settings.replace("?", "'60000'")); // a lock's take its idle time (text) as a parameter
            try (var explain = h.getConnection().prepareStatement("EXPLAIN (FORMAT JSON) " + statement)) {
                for (int i = 0; i < parameters.size(); i++) {
                    Object value = parameters.get(i);
                    if (value instanceof Object[] array) {
                        String type = array instanceof UUID[] ? "uuid" : "text";
                        explain.setArray(i + 1, h.getConnection().createArrayOf(type, array));
                    } else if (value instanceof long[] longs) {
                        explain.setArray(i + 1, h.getConnection().createArrayOf("int8",
                                java.util.Arrays.stream(longs).boxed().toArray()));
                    } else {
                        explain.setObject(i + 1, value);
                    }
                }
                try (var rs = explain.executeQuery()) {
                    rs.next();
                    return rs.getString(1);
                }
            }
        });
    }

    /** The steady state's statistics (thousands of messages, all published), then a backlog they do not show. */
    private static void backlogAfterSteadyStateStatistics() {
        db.jdbi().useHandle(h -> {
            h.execute(INSERT_ORDERS.formatted("'PUBLISHED'", 5_000));
            h.execute("ANALYZE outbox");
            h.execute(INSERT_ORDERS.formatted("'PENDING'", 5_000));
        });
    }

    private static final String INSERT_ORDERS = """
            INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, headers, status)
            SELECT gen_random_uuid(), 'Order', gen_random_uuid()::text, 'OrderCreated', '{}', '{}', %s
            FROM generate_series(1, %d)""";
}
