package io.outboxkit.core;

import java.time.Instant;

/**
 * A message as it stands in the outbox, for operators.
 *
 * @param message     the message
 * @param status      where it stands
 * @param lastError   the error of the last failed delivery, or null
 * @param availableAt when it may next be claimed
 * @param publishedAt when it was delivered, or null
 * @param lockedBy    the poller holding its lease, or null
 * @param lockedUntil when that lease ends, or null
 */
public record OutboxEntry(OutboxMessage message, MessageStatus status, String lastError, Instant availableAt,
                          Instant publishedAt, String lockedBy, Instant lockedUntil) {
}
