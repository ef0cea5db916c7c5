package io.outboxkit.orders;

import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.outboxkit.app.Database;
import io.outboxkit.app.Uuids;
import io.outboxkit.app.http.ApiError;
import io.outboxkit.app.http.Health;
import io.outboxkit.app.http.JsonApi;
import io.outboxkit.app.http.Probes;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * The HTTP face of the order API: reads and checks each request, calls {@link OrderService}, and
 * writes its answer as JSON. Every client mistake becomes a 4xx with {@code {"error": ...}} before
 * anything is written (see {@link JsonApi} for the shared conventions).
 */
final class OrderRoutes {

    private static final byte[] NO_BODY = new byte[0];

    private final OrderService service;
    private final Database database;

    OrderRoutes(OrderService service, Database database) {
        this.service = Objects.requireNonNull(service, "service");
        this.database = Objects.requireNonNull(database, "database");
    }

    /** Declares the routes in {@code config}, the health checks through {@code probes}. */
    void declare(JavalinConfig config, Probes probes) {
        config.routes.post("/orders", this::create);
        config.routes.get("/orders/{id}", this::get);
        config.routes.post("/orders/{id}/pay", ctx -> transition(ctx, Transition.PAY));
        config.routes.post("/orders/{id}/cancel", ctx -> transition(ctx, Transition.CANCEL));
        probes.serve(config, Health.live(), Health.of(database));
    }

    private void create(Context ctx) {
        String keyHeader = checkedKeyHeader(ctx);
        JsonApi.requireJson(ctx);
        byte[] body = ctx.bodyAsBytes();
        CreateOrderRequest request = CreateOrderRequest.parse(body);
        Optional<IdempotentRequest> key = IdempotentRequest.of(keyHeader, "POST", ctx.path(), body);
        answer(ctx, service.create(request, key));
    }

    private void transition(Context ctx, Transition transition) {
        UUID id = orderId(ctx);
        String keyHeader = checkedKeyHeader(ctx);
        // The body is ignored, except that a keyed retry must repeat it (it is in the fingerprint).
        byte[] body = keyHeader == null ? NO_BODY : ctx.bodyAsBytes();
        Optional<IdempotentRequest> key = IdempotentRequest.of(keyHeader, "POST", ctx.path(), body);
        answer(ctx, service.transition(id, transition, key));
    }

    private void get(Context ctx) {
        UUID id = orderId(ctx);
        Order order = service.find(id).orElseThrow(() -> ApiError.notFound("no order with id " + id));
        answer(ctx, Reply.of(200, OrderJson.response(order)));
    }

    /** The Idempotency-Key header, checked before the body is read; null when absent. */
    private static String checkedKeyHeader(Context ctx) {
        String header = ctx.header(IdempotentRequest.HEADER);
        IdempotentRequest.requireValidKey(header);
        return header;
    }

    private static UUID orderId(Context ctx) {
        return Uuids.parse(ctx.pathParam("id")).orElseThrow(() -> ApiError.badRequest("order id must be a UUID"));
    }

    private static void answer(Context ctx, Reply reply) {
        ctx.status(reply.status()).contentType("application/json").result(reply.body());
        if (reply.replayed()) {
            ctx.header("Idempotent-Replayed", "true");
        }
    }
}
