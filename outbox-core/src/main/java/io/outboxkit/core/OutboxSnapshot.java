package io.outboxkit.core;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * How an outbox stands, as {@link OutboxMonitor} read it: the figures an operator's alerts and
 * dashboards need. Immutable.
 *
 * @param pending           messages waiting for delivery (new, being delivered, or waiting for a retry), counted
 * @param dead              messages given up on, waiting for an operator, counted
 * @param publishedEstimate delivered messages still kept (until retention deletes them): an estimate, from
 *                          PostgreSQL's statistics of the table's live rows less the two counts above, since
 *                          counting a large table exactly is not cheap; it lags the truth by a second or so,
 *                          and never goes below 0
 * @param oldestPendingAge  how long the oldest pending message has been waiting, from its write: zero when no
 *                          message is pending. A message waiting for a retry counts (it was due, and is late); one
 *                          written for later delivery (never attempted, available later) does not until it is due
 * @param oldestPendingId   the id of that message, or null when none is
 * @param takenAt           when the figures were read
 */
public record OutboxSnapshot(long pending, long dead, long publishedEstimate, Duration oldestPendingAge,
                             UUID oldestPendingId, Instant takenAt) {

    /** Requires the references. */
    public OutboxSnapshot {
        Objects.requireNonNull(oldestPendingAge, "oldestPendingAge");
        Objects.requireNonNull(takenAt, "takenAt");
    }

    /** {@link #oldestPendingAge()} in seconds, with its fraction. */
    public double oldestPendingAgeSeconds() {
        return oldestPendingAge.toNanos() / 1e9;
    }
}
