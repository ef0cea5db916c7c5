package io.outboxkit.app.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.outboxkit.app.Jsons;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JSON API conventions of the services' Javalin apps: every answer is JSON; every error is
 * {@code {"error": "..."}} with a 4xx for the client's mistakes, 503 while the database is
 * unreachable, and 500 for anything else; a stack trace never reaches a client (it is logged).
 */
public final class JsonApi {

    /** The largest request body accepted unless configured: 64 KiB. */
    public static final long DEFAULT_MAX_BODY_BYTES = 64 * 1024;

    private static final Logger LOG = LoggerFactory.getLogger(JsonApi.class);

    private JsonApi() {
    }

    /** Applies the conventions to {@code config}; call it first in {@code Javalin.create}. */
    public static void configure(JavalinConfig config, long maxBodyBytes) {
        config.startup.showJavalinBanner = false;
        config.startup.showOldJavalinVersionWarning = false;
        config.http.maxRequestSize = maxBodyBytes;
        config.http.defaultContentType = "application/json";
        config.http.prefer405over404 = true;
        config.routes.exception(ApiError.class, (e, ctx) -> error(ctx, e.status(), e.getMessage()));
        config.routes.exception(HttpResponseException.class, (e, ctx) -> error(ctx, e.getStatus(), clientMessage(e)));
        config.routes.exception(Exception.class, JsonApi::unexpected);
        config.routes.error(404, "*", ctx -> {
            if (!isErrorBody(ctx)) {
                error(ctx, 404, "no such resource: " + ctx.method() + " " + ctx.path());
            }
        });
        config.routes.error(405, "*", ctx -> error(ctx, 405, "method " + ctx.method() + " is not allowed on " + ctx.path()));
    }

    /** Answers {@code status} with {@code body} serialized as JSON. */
    public static void respond(Context ctx, int status, Object body) {
        try {
            ctx.status(status).contentType("application/json").result(Jsons.mapper().writeValueAsString(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("response is not serializable", e);
        }
    }

    /** Answers {@code status} with {@code {"error": message}}. */
    public static void error(Context ctx, int status, String message) {
        respond(ctx, status, Map.of("error", message));
    }

    /** Requires a JSON content type on a request with a body. */
    public static void requireJson(Context ctx) {
        String type = ctx.contentType();
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
            throw new ApiError(415, "Content-Type must be application/json, was " + (type == null ? "missing" : type));
        }
    }

    private static boolean isErrorBody(Context ctx) {
        String result = ctx.result();
        return result != null && result.startsWith("{\"error\"");
    }

    private static String clientMessage(HttpResponseException e) {
        return switch (e.getStatus()) {
            case 413 -> "request body is too large";
            default -> e.getMessage() == null ? "request refused" : e.getMessage();
        };
    }

    private static void unexpected(Exception e, Context ctx) {
        if (isDatabaseDown(e)) {
            LOG.warn("{} {}: database unavailable: {}", ctx.method(), ctx.path(), e.getMessage());
            ctx.header("Retry-After", "1");
            error(ctx, 503, "database unavailable, try again shortly");
            return;
        }
        LOG.error("{} {} failed", ctx.method(), ctx.path(), e);
        error(ctx, 500, "internal error");
    }

    /** Whether {@code e} comes from the database being unreachable (rather than from a bug). */
    public static boolean isDatabaseDown(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLTransientConnectionException) {
                return true;
            }
            if (t instanceof SQLException sql && sql.getSQLState() != null
                    && (sql.getSQLState().startsWith("08") || sql.getSQLState().startsWith("57P"))) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }
}
