package io.outboxkit.system.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.system.Http;
import io.outboxkit.system.RunningSystem;
import io.outboxkit.system.ServiceProcess;
import io.outboxkit.system.faults.LoadGenerator.PlacedOrder;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * The promises every fault case ends by checking, against what the order service answered:
 * <ol>
 *   <li>every request of the load got a definite answer, none a 5xx other than 503, none a stack trace;</li>
 *   <li>no message is left undelivered: within the deadline every outbox row is PUBLISHED (except
 *       the ones a test keeps back on purpose), none DEAD, and (through a broker, where PUBLISHED
 *       means the broker confirmed it) processed by the consumer;</li>
 *   <li>the order service's database holds exactly the orders that got a 201, in the status of the
 *       last answer, and the outbox holds exactly their events (one per 201 and per 200), in order;</li>
 *   <li>each event was processed exactly once in effect: every published message is recorded as
 *       processed; each user's order count and total at the consumer equal the orders that got a
 *       201; the consumer's status view of each order is the order service's last answer, set by
 *       the order's last event;</li>
 *   <li>no ordering violation: the consumer's /stats says 0 and its violations table is empty.</li>
 * </ol>
 */
public final class Invariants {

    /** How many orders' status views are also read over HTTP (all of them are compared in SQL). */
    private static final int HTTP_SAMPLE = 150;

    private Invariants() {
    }

    /** What the check counted. */
    public record Report(long orders, long paid, long cancelled, long messages, long published, long retries,
                         long duplicates, long violations, long lost) {
        @Override
        public String toString() {
            return "orders=" + orders + " paid=" + paid + " cancelled=" + cancelled + " messages=" + messages
                    + " published=" + published + " retries=" + retries + " duplicates-absorbed=" + duplicates
                    + " violations=" + violations + " lost=" + lost;
        }
    }

    /** Checks everything, waiting up to {@code deadline} for the outbox to drain. The load must be stopped and settled. */
    public static Report verify(RunningSystem system, LoadGenerator load, Duration deadline) {
        return verify(system, load, deadline, Set.of());
    }

    /**
     * As {@link #verify(RunningSystem, LoadGenerator, Duration)}, but the outbox rows in {@code keptBack}
     * may stay undelivered (a poison message a test leaves DEAD on purpose).
     */
    public static Report verify(RunningSystem system, LoadGenerator load, Duration deadline, Set<UUID> keptBack) {
        load.requireSettled();
        Jdbi jdbi = system.database().jdbi();
        List<UUID> exempt = new ArrayList<>(keptBack);
        Map<UUID, PlacedOrder> placed = load.orders();

        awaitOutboxDrained(jdbi, deadline, exempt);
        assertThat(count(jdbi, "SELECT count(*) FROM outbox WHERE status = 'DEAD' AND NOT id = ANY(CAST(:exempt AS uuid[]))", exempt))
                .as("DEAD messages").isZero();

        checkOrdersTable(jdbi, placed);
        Map<UUID, List<Object[]>> events = outboxEventsByOrder(jdbi, exempt);
        checkEvents(placed, events);

        // Through a broker, PUBLISHED means the broker confirmed it: the consumer may still be reading.
        String unprocessed = """
                SELECT count(*) FROM outbox o
                WHERE o.status = 'PUBLISHED' AND NOT o.id = ANY(CAST(:exempt AS uuid[]))
                  AND NOT EXISTS (SELECT 1 FROM processed_messages p WHERE p.consumer = '%s' AND p.message_id = o.id)"""
                .formatted(system.consumerName().replace("'", "''"));
        await("every published message processed by the consumer").atMost(deadline).pollInterval(Duration.ofMillis(250))
                .untilAsserted(() -> assertThat(count(jdbi, unprocessed, exempt))
                        .as("published messages the consumer never processed (lost)").isZero());
        long lost = count(jdbi, unprocessed, exempt);

        checkCustomerTotals(system, load.users(), placed.values());
        checkStatusViews(system, jdbi, placed, events);

        JsonNode stats = Http.get(system.consumerUrl("/stats")).json();
        long violations = stats.path("violations").asLong(-1);
        long violationRows = count(jdbi, "SELECT count(*) FROM consumer_ordering_violations", exempt);
        String details = violations == 0 && violationRows == 0 ? "" : String.join("\n", violationDetails(system, jdbi));
        assertThat(violations).as("consumer /stats violations: %s; the first ones:%n%s", stats, details).isZero();
        assertThat(violationRows).as("rows in consumer_ordering_violations:%n%s", details).isZero();

        long messages = count(jdbi, "SELECT count(*) FROM outbox WHERE NOT id = ANY(CAST(:exempt AS uuid[]))", exempt);
        long published = count(jdbi, "SELECT count(*) FROM outbox WHERE status = 'PUBLISHED' AND NOT id = ANY(CAST(:exempt AS uuid[]))", exempt);
        long retries = count(jdbi, "SELECT coalesce(sum(attempts - 1), 0) FROM outbox WHERE attempts > 0 AND NOT id = ANY(CAST(:exempt AS uuid[]))",
                exempt);
        LoadGenerator.Stats loadStats = load.stats();
        Report report = new Report(placed.size(), loadStats.paid(), loadStats.cancelled(), messages, published, retries,
                stats.path("duplicates").asLong(), violations, lost);
        System.out.println("[invariants] " + report + " | load: " + loadStats);
        return report;
    }

    /**
     * The first ordering violations with what a diagnosis needs: the late event and the one before it
     * in its order (types, the outbox's attempts and publication times, when the consumer's
     * transaction for each began), then the consumer's log lines that name either of them or say how
     * it started, restarted or reconnected, and the relays' warnings (the logs of a CI run are gone once
     * it ends).
     */
    private static List<String> violationDetails(RunningSystem system, Jdbi jdbi) {
        Set<String> ids = new HashSet<>();
        List<String> details = new ArrayList<>(jdbi.withHandle(h -> h.createQuery("""
                        SELECT v.message_id, prev.id AS prev_id, v.order_id, v.seq, v.previous_seq, v.recorded_at,
                               late.event_type AS late_type, late.attempts AS late_attempts,
                               late.published_at AS late_published, pl.processed_at AS late_processed,
                               prev.event_type AS prev_type, prev.attempts AS prev_attempts,
                               prev.published_at AS prev_published, pp.processed_at AS prev_processed
                        FROM consumer_ordering_violations v
                        LEFT JOIN outbox late ON late.id = v.message_id
                        LEFT JOIN outbox prev ON prev.aggregate_id = v.order_id::text AND prev.seq = v.previous_seq
                        LEFT JOIN processed_messages pl ON pl.message_id = v.message_id
                        LEFT JOIN processed_messages pp ON pp.message_id = prev.id
                        ORDER BY v.recorded_at LIMIT 10""")
                .map((rs, ctx) -> {
                    ids.add(rs.getString("message_id"));
                    if (rs.getString("prev_id") != null) {
                        ids.add(rs.getString("prev_id"));
                    }
                    return "message " + rs.getString("message_id") + " of order " + rs.getString("order_id") + ": seq "
                            + rs.getLong("seq") + " (" + rs.getString("late_type") + ", attempts "
                            + rs.getString("late_attempts") + ", published " + rs.getString("late_published")
                            + ", processed " + rs.getString("late_processed") + ") after seq " + rs.getLong("previous_seq")
                            + " (message " + rs.getString("prev_id") + ", " + rs.getString("prev_type") + ", attempts "
                            + rs.getString("prev_attempts") + ", published " + rs.getString("prev_published")
                            + ", processed " + rs.getString("prev_processed") + "), recorded " + rs.getString("recorded_at");
                })
                .list()));
        for (ServiceProcess consumer : system.consumers()) {
            details.add("consumer log " + consumer.log().getFileName() + ":");
            consumer.output().lines()
                    .filter(line -> ids.stream().anyMatch(line::contains) || line.contains("NATS consumer")
                            || line.contains("reconnected") || line.contains(" started") || line.contains("WARN")
                            || line.contains("ERROR"))
                    .limit(60)
                    .forEach(line -> details.add("  " + line));
        }
        system.relays().forEach(relay -> {
            details.add("relay log " + relay.process().log().getFileName() + " (warnings and errors):");
            relay.process().output().lines().filter(line -> line.contains("WARN") || line.contains("ERROR")).limit(30)
                    .forEach(line -> details.add("  " + line));
        });
        return details;
    }

    private static void awaitOutboxDrained(Jdbi jdbi, Duration deadline, List<UUID> exempt) {
        await("every outbox message PUBLISHED").atMost(deadline).pollInterval(Duration.ofMillis(250))
                .untilAsserted(() -> {
                    List<String> stuck = jdbi.withHandle(h -> h.createQuery("""
                                    SELECT id, seq, aggregate_id, event_type, status, attempts, locked_by, last_error
                                    FROM outbox WHERE status <> 'PUBLISHED' AND NOT id = ANY(CAST(:exempt AS uuid[])) ORDER BY seq LIMIT 10""")
                            .bindArray("exempt", String.class, texts(exempt))
                            .map((rs, ctx) -> rs.getString("id") + " seq=" + rs.getLong("seq") + " " + rs.getString("event_type")
                                    + " " + rs.getString("aggregate_id") + " " + rs.getString("status") + " attempts="
                                    + rs.getInt("attempts") + " locked_by=" + rs.getString("locked_by") + " last_error="
                                    + rs.getString("last_error"))
                            .list());
                    assertThat(stuck).as("messages not yet PUBLISHED (the first 10)").isEmpty();
                });
    }

    private static void checkOrdersTable(Jdbi jdbi, Map<UUID, PlacedOrder> placed) {
        Map<UUID, Object[]> rows = new HashMap<>();
        jdbi.useHandle(h -> h.createQuery("SELECT id, user_id, amount, status FROM orders")
                .map((rs, ctx) -> new Object[] {rs.getObject("id", UUID.class), rs.getObject("user_id", UUID.class),
                        rs.getBigDecimal("amount"), rs.getString("status")})
                .forEach(r -> rows.put((UUID) r[0], r)));
        assertThat(rows.keySet()).as("orders in the database vs orders that got a 201")
                .containsExactlyInAnyOrderElementsOf(placed.keySet());
        List<String> differences = new ArrayList<>();
        placed.values().forEach(o -> {
            Object[] row = rows.get(o.id());
            if (!o.user().equals(row[1]) || o.amount().compareTo((BigDecimal) row[2]) != 0 || !o.status().equals(row[3])) {
                differences.add(o.id() + ": answered " + o.user() + " " + o.amount() + " " + o.status() + ", database has "
                        + row[1] + " " + row[2] + " " + row[3]);
            }
        });
        requireNone("orders whose row differs from the order service's answers", differences);
    }

    /** Per order: its outbox events as (event type, seq), in seq order. */
    private static Map<UUID, List<Object[]>> outboxEventsByOrder(Jdbi jdbi, List<UUID> exempt) {
        Map<UUID, List<Object[]>> events = new HashMap<>();
        jdbi.useHandle(h -> h.createQuery("""
                        SELECT aggregate_id, event_type, seq FROM outbox
                        WHERE aggregate_type = 'Order' AND NOT id = ANY(CAST(:exempt AS uuid[])) ORDER BY seq""")
                .bindArray("exempt", String.class, texts(exempt))
                .map((rs, ctx) -> new Object[] {rs.getString("aggregate_id"), rs.getString("event_type"), rs.getLong("seq")})
                .forEach(r -> {
                    UUID order;
                    try {
                        order = UUID.fromString((String) r[0]);
                    } catch (IllegalArgumentException e) {
                        return;
                    }
                    events.computeIfAbsent(order, k -> new ArrayList<>()).add(new Object[] {r[1], r[2]});
                }));
        return events;
    }

    private static void checkEvents(Map<UUID, PlacedOrder> placed, Map<UUID, List<Object[]>> events) {
        List<String> differences = new ArrayList<>();
        placed.values().forEach(o -> {
            List<String> written = events.getOrDefault(o.id(), List.of()).stream().map(e -> (String) e[0]).toList();
            if (!written.equals(o.events())) {
                differences.add(o.id() + ": answers imply " + o.events() + ", outbox has " + written);
            }
        });
        requireNone("orders whose outbox events differ from the answers", differences);
    }

    private static void checkCustomerTotals(RunningSystem system, List<UUID> users, Collection<PlacedOrder> placed) {
        Map<UUID, Long> counts = new HashMap<>();
        Map<UUID, BigDecimal> totals = new HashMap<>();
        placed.forEach(o -> {
            counts.merge(o.user(), 1L, Long::sum);
            totals.merge(o.user(), o.amount(), BigDecimal::add);
        });
        for (UUID user : users) {
            JsonNode view = Http.get(system.consumerUrl("/customers/" + user)).json();
            assertThat(view.path("order_count").asLong()).as("consumer's order count of user %s: %s", user, view)
                    .isEqualTo(counts.getOrDefault(user, 0L));
            assertThat(view.path("total_amount").decimalValue()).as("consumer's total of user %s: %s", user, view)
                    .isEqualByComparingTo(totals.getOrDefault(user, BigDecimal.ZERO));
        }
    }

    private static void checkStatusViews(RunningSystem system, Jdbi jdbi, Map<UUID, PlacedOrder> placed,
                                         Map<UUID, List<Object[]>> events) {
        Map<UUID, Object[]> views = new HashMap<>();
        jdbi.useHandle(h -> h.createQuery("SELECT order_id, status, last_seq FROM consumer_order_status")
                .map((rs, ctx) -> new Object[] {rs.getObject("order_id", UUID.class), rs.getString("status"), rs.getLong("last_seq")})
                .forEach(r -> views.put((UUID) r[0], r)));
        List<String> differences = new ArrayList<>();
        placed.values().forEach(o -> {
            Object[] view = views.get(o.id());
            List<Object[]> written = events.getOrDefault(o.id(), List.of());
            long lastSeq = written.isEmpty() ? -1 : (Long) written.get(written.size() - 1)[1];
            if (view == null) {
                differences.add(o.id() + ": no status view at the consumer, answered " + o.status());
            } else if (!o.status().equals(view[1]) || lastSeq != (Long) view[2]) {
                differences.add(o.id() + ": answered " + o.status() + " (last event seq " + lastSeq + "), consumer has "
                        + view[1] + " (seq " + view[2] + ")");
            }
        });
        requireNone("consumer status views that differ from the order service's answers", differences);

        List<PlacedOrder> sample = new ArrayList<>(placed.values());
        Collections.shuffle(sample);
        for (PlacedOrder o : sample.subList(0, Math.min(HTTP_SAMPLE, sample.size()))) {
            Http.Response response = Http.get(system.consumerUrl("/orders/" + o.id() + "/status"));
            assertThat(response.status()).as("GET /orders/%s/status: %s", o.id(), response.text()).isEqualTo(200);
            assertThat(response.json().path("status").asText()).as("consumer's status of %s", o.id()).isEqualTo(o.status());
        }
    }

    private static long count(Jdbi jdbi, String sql, List<UUID> exempt) {
        return jdbi.withHandle(h -> {
            var query = h.createQuery(sql);
            if (sql.contains(":exempt")) {
                query.bindArray("exempt", String.class, texts(exempt));
            }
            return query.mapTo(Long.class).one();
        });
    }

    static List<String> texts(List<UUID> ids) {
        return ids.stream().map(UUID::toString).toList();
    }

    private static void requireNone(String what, List<String> differences) {
        if (!differences.isEmpty()) {
            throw new AssertionError(differences.size() + " " + what + "; the first ones:\n"
                    + String.join("\n", differences.subList(0, Math.min(20, differences.size()))));
        }
    }
}
