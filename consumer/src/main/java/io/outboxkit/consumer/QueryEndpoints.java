package io.outboxkit.consumer;

import io.javalin.http.Context;
import io.outboxkit.app.Uuids;
import io.outboxkit.app.http.ApiError;
import io.outboxkit.app.http.JsonApi;
import io.outboxkit.core.spi.Texts;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.function.LongSupplier;

/** The read side: customers' totals, orders' statuses, and counters. Thread-safe. */
final class QueryEndpoints {

    private final LoyaltyStore store;
    private final String consumer;
    private final LongSupplier duplicates;

    QueryEndpoints(LoyaltyStore store, String consumer, LongSupplier duplicates) {
        this.store = store;
        this.consumer = consumer;
        this.duplicates = duplicates;
    }

    /** {@code GET /customers/{user_id}}: {@code {"user_id", "order_count", "total_amount"}}, zeros when unknown. */
    void customer(Context ctx) {
        LoyaltyStore.CustomerTotals totals = store.customer(uuid(ctx, "user_id"));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("user_id", totals.userId().toString());
        body.put("order_count", totals.orderCount());
        body.put("total_amount", totals.totalAmount());
        JsonApi.respond(ctx, 200, body);
    }

    /** {@code GET /orders/{id}/status}: {@code {"order_id", "status", "last_sequence"}}, or 404. */
    void orderStatus(Context ctx) {
        UUID orderId = uuid(ctx, "id");
        LoyaltyStore.OrderView view = store.order(orderId)
                .orElseThrow(() -> ApiError.notFound("no event seen for order " + orderId));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("order_id", view.orderId().toString());
        body.put("status", view.status());
        body.put("last_sequence", view.lastSequence());
        JsonApi.respond(ctx, 200, body);
    }

    /** {@code GET /stats}: processed (from the database), duplicates (since start), violations. */
    void stats(Context ctx) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("consumer", consumer);
        body.put("processed", store.processedCount(consumer));
        body.put("duplicates", duplicates.getAsLong());
        body.put("violations", store.violationCount());
        JsonApi.respond(ctx, 200, body);
    }

    private static UUID uuid(Context ctx, String param) {
        String text = ctx.pathParam(param);
        return Uuids.parse(text).orElseThrow(() -> ApiError.badRequest(param + " is not a UUID: "
                + Texts.abbreviate(text, 60)));
    }
}
