package io.outboxkit.core;

import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

/**
 * The oldest pending message that is due (its retry delay, if any, is over): how far delivery lags.
 *
 * @param id        the message
 * @param createdAt when it was written
 * @param age       how long ago, by the database's clock
 */
public record PendingAge(UUID id, Instant createdAt, Duration age) {
}
