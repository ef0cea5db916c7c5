package io.outboxkit.app.http;

import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.outboxkit.app.Database;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * A service's health checks: 200 {@code {"status": "ok"}} while every check passes, else 503
 * {@code {"status": "unavailable", "error": "<what is down>"}} naming the first check that failed.
 * Fields added with {@link #with} come after {@code status} in both answers. Immutable and
 * thread-safe: each request runs the checks anew.
 *
 * <p>Two kinds, served together by {@link Probes#serve}: readiness ({@link #of}: the database first,
 * then what a service adds with {@link #and}), which may fail while a dependency is down, and
 * liveness ({@link #live}: only the process's own worker threads, never the database), which
 * fails only when a restart is the cure. An orchestrator that restarts on a failed readiness check
 * would restart every replica whenever the database blips.
 */
public final class Health implements Handler {

    /** The readiness check at the path it had before {@link #READY}, kept for the probes that use it. */
    public static final String PATH = "/health";
    /** The liveness check's path. */
    public static final String LIVE = "/health/live";
    /** The readiness check's path. */
    public static final String READY = "/health/ready";

    private record Check(BooleanSupplier up, String whenDown) {
    }

    private final List<Check> checks;
    private final Map<String, String> fields;

    private Health(List<Check> checks, Map<String, String> fields) {
        this.checks = List.copyOf(checks);
        this.fields = fields;
    }

    /**
     * A readiness check: healthy while {@code database} answers a trivial query within a second,
     * asked outside its pool, so requests holding every pooled connection do not make it fail
     * ({@link Database#isHealthy}).
     */
    public static Health of(Database database) {
        Objects.requireNonNull(database, "database");
        return new Health(List.of(new Check(database::isHealthy, "database is not answering")), Map.of());
    }

    /**
     * A liveness check: 200 while the process serves requests and every check added with
     * {@link #and} passes (the service's essential worker threads, alive or reconnecting by
     * design). It asks no database or broker: what it adds must answer from memory.
     */
    public static Health live() {
        return new Health(List.of(), Map.of());
    }

    /**
     * Declares {@code GET /health/live} answered by {@code live}, and {@code GET /health/ready}
     * and {@code GET /health} (what {@code /health} always meant, kept for existing probes)
     * answered by {@code ready}. Services declare them through {@link Probes#serve}.
     */
    static void serve(JavalinConfig config, Health live, Health ready) {
        Objects.requireNonNull(live, "live");
        Objects.requireNonNull(ready, "ready");
        config.routes.get(LIVE, live);
        config.routes.get(READY, ready);
        config.routes.get(PATH, ready);
    }

    /** Whether {@code path} is one of the health checks' paths. */
    static boolean isProbe(String path) {
        return PATH.equals(path) || LIVE.equals(path) || READY.equals(path);
    }

    /** This health, requiring {@code up} before any of its checks; {@code whenDown} is the error when it fails. */
    Health first(BooleanSupplier up, String whenDown) {
        List<Check> more = new ArrayList<>();
        more.add(new Check(Objects.requireNonNull(up, "up"), Objects.requireNonNull(whenDown, "whenDown")));
        more.addAll(checks);
        return new Health(more, fields);
    }

    /** This health, also requiring {@code up}; {@code whenDown} is the error when it is the first to fail. */
    public Health and(BooleanSupplier up, String whenDown) {
        List<Check> more = new ArrayList<>(checks);
        more.add(new Check(Objects.requireNonNull(up, "up"), Objects.requireNonNull(whenDown, "whenDown")));
        return new Health(more, fields);
    }

    /** This health, answering {@code field} with {@code value} too (the relay's name, say). */
    public Health with(String field, String value) {
        Map<String, String> more = new LinkedHashMap<>(fields);
        more.put(Objects.requireNonNull(field, "field"), Objects.requireNonNull(value, "value"));
        return new Health(checks, more);
    }

    /** Runs the checks in order and answers; a check that throws counts as down. */
    @Override
    public void handle(Context ctx) {
        String down = null;
        for (Check check : checks) {
            if (!isUp(check)) {
                down = check.whenDown();
                break;
            }
        }
        Map<String, String> body = new LinkedHashMap<>();
        body.put("status", down == null ? "ok" : "unavailable");
        body.putAll(fields);
        if (down != null) {
            body.put("error", down);
        }
        JsonApi.respond(ctx, down == null ? 200 : 503, body);
    }

    private static boolean isUp(Check check) {
        try {
            return check.up().getAsBoolean();
        } catch (RuntimeException e) {
            return false;
        }
    }
}
