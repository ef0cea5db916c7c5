package io.outboxkit.core;

/**
 * Counters of one {@link OutboxPoller} since it was built.
 *
 * @param claimed   messages claimed (each delivery attempt counts)
 * @param delivered messages the publisher delivered and the poller marked PUBLISHED
 * @param failed    failed delivery attempts recorded (scheduled for retry, or dead)
 * @param dead      messages this poller marked DEAD after their last attempt
 * @param errors    poll cycles that failed on the database (retried after the poll interval)
 * @param polls     poll cycles run, whether or not they found work
 */
public record PollerStats(long claimed, long delivered, long failed, long dead, long errors, long polls) {
}
