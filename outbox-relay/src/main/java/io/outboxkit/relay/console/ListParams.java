package io.outboxkit.relay.console;

import io.outboxkit.core.MessageQuery;
import io.outboxkit.core.MessageStatus;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The query parameters of the message list ({@code /} and its fragment): the filters, the order,
 * the page, and how often the page refreshes. Each is checked, and anything else is refused, so a
 * mistyped filter ({@code ?stauts=dead}) is an error rather than a silently unfiltered list.
 *
 * @param status        {@code status}: pending, published or dead; null for all
 * @param aggregateType {@code aggregate_type}, exact; null for any
 * @param aggregateId   {@code aggregate_id}, exact; null for any
 * @param eventType     {@code event_type}, exact; null for any
 * @param newest        {@code order}: newest (default) or oldest first
 * @param after         {@code after}: the sequence the previous page ended at, or null for the first page
 * @param size          {@code size}: entries per page, 1 to {@value #MAX_SIZE}; default {@value #DEFAULT_SIZE}
 * @param refresh       {@code refresh}: seconds between refreshes, 1 to {@value #MAX_REFRESH}; default {@value #DEFAULT_REFRESH}
 */
record ListParams(MessageStatus status, String aggregateType, String aggregateId, String eventType, boolean newest,
                  Long after, int size, int refresh) {

    static final int DEFAULT_SIZE = 25;
    static final int MAX_SIZE = 100;
    static final int DEFAULT_REFRESH = 2;
    static final int MAX_REFRESH = 60;
    static final Set<String> NAMES =
            Set.of("status", "aggregate_type", "aggregate_id", "event_type", "order", "after", "size", "refresh");

    /** The defaults: every message, newest first, the first page. */
    static ListParams defaults() {
        return new ListParams(null, null, null, null, true, null, DEFAULT_SIZE, DEFAULT_REFRESH);
    }

    /**
     * Reads the parameters; {@code extra} names more that the caller reads itself.
     *
     * @throws ConsoleError 400 naming the first parameter that is unknown, repeated or out of range
     */
    static ListParams from(Map<String, List<String>> query, Set<String> extra) {
        for (Map.Entry<String, List<String>> parameter : query.entrySet()) {
            if (!NAMES.contains(parameter.getKey()) && !extra.contains(parameter.getKey())) {
                throw ConsoleError.badRequest("unknown parameter \"" + Params.shorten(parameter.getKey()) + "\": the list takes "
                        + String.join(", ", NAMES.stream().sorted().toList()));
            }
        }
        return new ListParams(
                status(Params.single(query, "status")),
                Params.filter(query, "aggregate_type", MessageQuery.MAX_FILTER_LENGTH),
                Params.filter(query, "aggregate_id", MessageQuery.MAX_FILTER_LENGTH),
                Params.filter(query, "event_type", MessageQuery.MAX_FILTER_LENGTH),
                newest(Params.single(query, "order")),
                Params.number(query, "after", 0, Long.MAX_VALUE),
                (int) orDefault(Params.number(query, "size", 1, MAX_SIZE), DEFAULT_SIZE),
                (int) orDefault(Params.number(query, "refresh", 1, MAX_REFRESH), DEFAULT_REFRESH));
    }

    /** The query for {@link io.outboxkit.core.OutboxAdmin#page}. */
    MessageQuery query() {
        MessageQuery first = newest ? MessageQuery.newestFirst(size) : MessageQuery.oldestFirst(size);
        return first.status(status).aggregate(aggregateType, aggregateId).eventType(eventType).after(after);
    }

    /** These parameters continuing after sequence {@code next}. */
    ListParams after(Long next) {
        return new ListParams(status, aggregateType, aggregateId, eventType, newest, next, size, refresh);
    }

    /** These parameters with only {@code value} as the status filter, from the first page. */
    ListParams onlyStatus(MessageStatus value) {
        return new ListParams(value, null, null, null, newest, null, size, refresh);
    }

    /** Whether any filter is set. */
    boolean filtered() {
        return status != null || aggregateType != null || aggregateId != null || eventType != null;
    }

    /** The query string that gives these parameters (defaults left out), with a leading {@code ?}, or empty. */
    String queryString() {
        Map<String, String> values = new LinkedHashMap<>();
        if (status != null) {
            values.put("status", status.name().toLowerCase(Locale.ROOT));
        }
        values.put("aggregate_type", aggregateType);
        values.put("aggregate_id", aggregateId);
        values.put("event_type", eventType);
        values.put("order", newest ? null : "oldest");
        values.put("after", after == null ? null : after.toString());
        values.put("size", size == DEFAULT_SIZE ? null : Integer.toString(size));
        values.put("refresh", refresh == DEFAULT_REFRESH ? null : Integer.toString(refresh));
        StringBuilder text = new StringBuilder();
        values.forEach((name, value) -> {
            if (value != null) {
                text.append(text.length() == 0 ? '?' : '&').append(name).append('=')
                        .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
            }
        });
        return text.toString();
    }

    private static MessageStatus status(String value) {
        if (value == null) {
            return null;
        }
        for (MessageStatus status : MessageStatus.values()) {
            if (status.name().equalsIgnoreCase(value)) {
                return status;
            }
        }
        throw ConsoleError.badRequest("status must be pending, published or dead, was \"" + Params.shorten(value) + "\"");
    }

    private static boolean newest(String value) {
        if (value == null || value.equals("newest")) {
            return true;
        }
        if (value.equals("oldest")) {
            return false;
        }
        throw ConsoleError.badRequest("order must be newest or oldest, was \"" + Params.shorten(value) + "\"");
    }

    private static long orDefault(Long value, long fallback) {
        return value == null ? fallback : value;
    }
}
