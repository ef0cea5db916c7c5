package io.outboxkit.core;

import java.util.List;
import java.util.OptionalLong;

/**
 * One page of {@link OutboxAdmin#page}: the entries found, and where the next page starts.
 *
 * <p>A page may hold fewer entries than asked for while more remain: a listing examines at most
 * {@link OutboxAdmin#MAX_EXAMINED} rows per call (see {@link OutboxAdmin#page}), so a filter that
 * few rows match continues on the next page. The listing is over when {@link #next()} is empty.
 *
 * @param entries  the matching messages, in the query's order
 * @param next     the {@link MessageQuery#after} of the next page, or empty when nothing is left
 * @param examined how many rows this page examined (at most {@link OutboxAdmin#MAX_EXAMINED})
 */
public record MessagePage(List<OutboxEntry> entries, OptionalLong next, int examined) {

    /** Copies the entries. */
    public MessagePage {
        entries = List.copyOf(entries);
    }
}
