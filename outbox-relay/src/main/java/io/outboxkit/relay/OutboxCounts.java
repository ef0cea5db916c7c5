package io.outboxkit.relay;

import java.util.Map;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;

/**
 * How many outbox rows are in each status, counted now.
 *
 * @param pending   waiting for delivery (new, leased, or waiting for a retry)
 * @param published delivered and not yet removed by retention
 * @param dead      given up on, waiting for an operator
 */
record OutboxCounts(long pending, long published, long dead) {

    /** Counts the rows of {@code jdbi}'s outbox. */
    static OutboxCounts read(Jdbi jdbi) {
        Map<String, Long> byStatus = jdbi.withHandle(h -> h.createQuery("SELECT status, count(*) FROM outbox GROUP BY status")
                .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
                .stream()
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)));
        return new OutboxCounts(byStatus.getOrDefault("PENDING", 0L), byStatus.getOrDefault("PUBLISHED", 0L),
                byStatus.getOrDefault("DEAD", 0L));
    }
}
