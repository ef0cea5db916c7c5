package io.outboxkit.core;

import java.time.Instant;

/**
 * A poller that holds leases on pending messages now (a lease claim's {@code locked_by}). A poller
 * in {@link ClaimMode#LOCK} holds row locks instead, which no lease shows.
 *
 * @param lockedBy the poller's name
 * @param messages how many messages it holds
 * @param leaseEnd when the last of its leases ends
 */
public record LeaseHolder(String lockedBy, long messages, Instant leaseEnd) {
}
