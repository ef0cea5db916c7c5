package io.outboxkit.app.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.Header;
import io.javalin.http.HttpResponseException;
import io.outboxkit.app.Jsons;
import io.outboxkit.core.spi.Causes;
import io.outboxkit.core.spi.Texts;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.io.EofException;
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
    /**
     * How long a stopping server lets the requests in progress finish before it closes their
     * connections: 5 s (a request waits at most 2 s for a pooled connection, so this covers it).
     */
    public static final long STOP_TIMEOUT_MS = 5_000;

    private static final Logger LOG = LoggerFactory.getLogger(JsonApi.class);
    private static final int MAX_ECHO = 100;

    private JsonApi() {
    }

    /** Applies the conventions to {@code config}; call it first in {@code Javalin.create}. */
    public static void configure(JavalinConfig config, long maxBodyBytes) {
        config.startup.showJavalinBanner = false;
        config.startup.showOldJavalinVersionWarning = false;
        config.http.maxRequestSize = maxBodyBytes;
        config.http.defaultContentType = "application/json";
        config.http.prefer405over404 = true;
        // A graceful stop: Javalin puts its handlers inside the GracefulHandler, which on stop refuses
        // new requests (but the health checks: see Probes) and lets those in progress finish (up to
        // the stop timeout) before connections close. Without it Jetty closes them at once: the client
        // gets no answer while its transaction may still commit (an order created that the client was
        // never told about).
        config.jetty.modifyServer(server -> {
            server.setHandler(new ProbeExemptGracefulHandler());
            server.setStopTimeout(STOP_TIMEOUT_MS);
        });
        config.jetty.modifyServer(server -> server.setErrorHandler(new JsonErrorHandler()));
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
            respondJson(ctx, status, Jsons.mapper().writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("response is not serializable", e);
        }
    }

    /** Answers {@code status} with {@code json}, a JSON document already written (UTF-8). */
    public static void respondJson(Context ctx, int status, byte[] json) {
        ctx.status(status).contentType("application/json").result(json);
    }

    /** Answers {@code status} with {@code {"error": message}}. */
    public static void error(Context ctx, int status, String message) {
        respond(ctx, status, Map.of("error", message));
    }

    /**
     * Requires a JSON content type on a request with a body, sent as it is: a {@code Content-Encoding}
     * other than {@code identity} (gzip, say) is refused with 415 naming it, as no service decodes
     * one. Reads the raw header: the servlet's parsed content type throws on a charset it does not
     * know ({@code charset=bogus}).
     */
    public static void requireJson(Context ctx) {
        String type = ctx.header(Header.CONTENT_TYPE);
        if (type == null || !type.trim().toLowerCase(Locale.ROOT).startsWith("application/json")) {
            throw new ApiError(415, "Content-Type must be application/json, was "
                    + (type == null ? "missing" : Texts.abbreviate(type, MAX_ECHO)));
        }
        for (String encodings : Collections.list(ctx.req().getHeaders(Header.CONTENT_ENCODING))) {
            for (String encoding : encodings.split(",")) {
                String name = encoding.strip();
                if (!name.isEmpty() && !name.equalsIgnoreCase("identity")) {
                    throw new ApiError(415, "Content-Encoding " + Texts.abbreviate(name, MAX_ECHO) + " is not supported; send the JSON uncompressed");
                }
            }
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
        int clientError = unreadableRequest(e);
        if (clientError != 0) {
            LOG.info("{} {}: request could not be read: {}", ctx.method(), ctx.path(), e.toString());
            error(ctx, clientError, "request could not be read: it ended early or is malformed");
            return;
        }
        if (isDatabaseDown(e)) {
            LOG.warn("{} {}: database unavailable: {}", ctx.method(), ctx.path(), e.getMessage());
            ctx.header("Retry-After", "1");
            error(ctx, 503, "database unavailable, try again shortly");
            return;
        }
        LOG.error("{} {} failed", ctx.method(), ctx.path(), e);
        error(ctx, 500, "internal error");
    }

    /**
     * The 4xx status for a request Jetty could not read (a body shorter than its Content-Length, a
     * broken chunked encoding): a client's mistake, not a server error. 0 for any other failure.
     */
    private static int unreadableRequest(Throwable e) {
        for (Throwable t : Causes.chain(e)) {
            if (t instanceof HttpException http && http.getCode() >= 400 && http.getCode() < 500) {
                return http.getCode();
            }
            if (t instanceof EofException) {
                return 400;
            }
        }
        return 0;
    }

    /** Whether {@code e} comes from the database being unreachable (rather than from a bug). */
    public static boolean isDatabaseDown(Throwable e) {
        for (Throwable t : Causes.chain(e)) {
            if (t instanceof SQLTransientConnectionException) {
                return true;
            }
            if (t instanceof SQLException sql && sql.getSQLState() != null
                    && (sql.getSQLState().startsWith("08") || sql.getSQLState().startsWith("57P"))) {
                return true;
            }
        }
        return false;
    }
}
