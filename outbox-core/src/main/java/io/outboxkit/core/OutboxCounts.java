package io.outboxkit.core;

/**
 * How many outbox rows stand in each status, counted in one statement.
 *
 * @param pending   waiting for delivery: new, leased, or waiting for a retry
 * @param published delivered and not yet removed by retention
 * @param dead      given up on, waiting for an operator
 */
public record OutboxCounts(long pending, long published, long dead) {

    /** The count of rows in {@code status}. */
    public long of(MessageStatus status) {
        return switch (status) {
            case PENDING -> pending;
            case PUBLISHED -> published;
            case DEAD -> dead;
        };
    }
}
