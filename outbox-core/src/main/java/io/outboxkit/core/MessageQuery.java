package io.outboxkit.core;

/**
 * Which messages {@link OutboxAdmin#page} lists, in which order, from where, and how many: an
 * immutable value, built from {@link #newestFirst} or {@link #oldestFirst} and narrowed with the
 * methods that return a copy ({@link #status(MessageStatus)}, {@link #aggregate}, ...).
 *
 * <p>Paging is by keyset on the write order ({@code seq}): {@code after} is the sequence where the
 * previous page stopped ({@link MessagePage#next()}), so page N costs what page 1 costs.
 *
 * @param status        only messages in this status, or null for all
 * @param aggregateType only this aggregate type (exact match), or null
 * @param aggregateId   only this aggregate id (exact match), or null
 * @param eventType     only this event type (exact match), or null
 * @param newest        newest first (descending {@code seq}) when true, else oldest first
 * @param after         continue past this sequence in the listing's direction (exclusive), or null
 *                      to start at the newest (or oldest) message
 * @param limit         at most this many entries, 1 to {@value #MAX_LIMIT}
 */
public record MessageQuery(MessageStatus status, String aggregateType, String aggregateId, String eventType,
                           boolean newest, Long after, int limit) {

    /** The largest page {@link OutboxAdmin#page} returns. */
    public static final int MAX_LIMIT = 200;
    /** The longest text filter accepted, in characters. */
    public static final int MAX_FILTER_LENGTH = 500;

    /**
     * Checks the bounds.
     *
     * @throws IllegalArgumentException when limit is not 1 to {@value #MAX_LIMIT}, after is negative,
     *                                  or a text filter is empty or longer than {@value #MAX_FILTER_LENGTH}
     */
    public MessageQuery {
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be 1 to " + MAX_LIMIT + ", was " + limit);
        }
        if (after != null && after < 0) {
            throw new IllegalArgumentException("after must not be negative, was " + after);
        }
        check("aggregateType", aggregateType);
        check("aggregateId", aggregateId);
        check("eventType", eventType);
    }

    /** Every message, newest first, {@code limit} at a time. */
    public static MessageQuery newestFirst(int limit) {
        return new MessageQuery(null, null, null, null, true, null, limit);
    }

    /** Every message, oldest first, {@code limit} at a time. */
    public static MessageQuery oldestFirst(int limit) {
        return new MessageQuery(null, null, null, null, false, null, limit);
    }

    /** This query, only for messages in {@code value} (null: any status). */
    public MessageQuery status(MessageStatus value) {
        return new MessageQuery(value, aggregateType, aggregateId, eventType, newest, after, limit);
    }

    /** This query, only for the aggregate {@code type} / {@code id} (either may be null: no condition). */
    public MessageQuery aggregate(String type, String id) {
        return new MessageQuery(status, type, id, eventType, newest, after, limit);
    }

    /** This query, only for messages of event type {@code value} (null: any). */
    public MessageQuery eventType(String value) {
        return new MessageQuery(status, aggregateType, aggregateId, value, newest, after, limit);
    }

    /** This query, continuing past sequence {@code value} (null: from the start). */
    public MessageQuery after(Long value) {
        return new MessageQuery(status, aggregateType, aggregateId, eventType, newest, value, limit);
    }

    private static void check(String name, String value) {
        if (value != null && (value.isEmpty() || value.length() > MAX_FILTER_LENGTH)) {
            throw new IllegalArgumentException(name + " must be 1 to " + MAX_FILTER_LENGTH + " characters, was "
                    + value.length());
        }
    }

    /** Whether both aggregate conditions are set: the only case an index finds the aggregate's messages. */
    boolean wholeAggregate() {
        return aggregateType != null && aggregateId != null;
    }
}
