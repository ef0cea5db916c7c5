package io.outboxkit.app.observability;

import io.javalin.http.Context;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Each HTTP request of a service, observed around Javalin: timed into {@code http.server.requests}
 * (tags {@code method}, {@code uri}: the route's template, never the path itself, and {@code status}:
 * the answer's class, {@code 2xx} to {@code 5xx}), and, with tracing on, a SERVER span, a child of
 * the request's {@code traceparent} (a malformed one starts a new trace), current while the request
 * is handled, named {@code <method> <route>}. Scrapes and health checks ({@link #QUIET}) are timed
 * but never traced. Each timer is built once, on the first request of its method, route and status
 * class, and looked up by that key afterwards. Thread-safe.
 */
final class HttpObservation implements Filter {

    /** The request attribute the route's template is passed on in, from Javalin's request logger to the filter. */
    static final String ROUTE = HttpObservation.class.getName() + ".route";
    /** Paths never traced: a scrape every second would bury the traces that matter. */
    static final Set<String> QUIET = Set.of("/metrics", "/metrics.json", "/health");

    private static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
    private static final AttributeKey<String> PATH = AttributeKey.stringKey("url.path");
    private static final AttributeKey<String> HTTP_ROUTE = AttributeKey.stringKey("http.route");
    private static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
    private static final Duration[] BUCKETS = {Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10),
        Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
        Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(5)};

    private static final TextMapGetter<HttpServletRequest> HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(HttpServletRequest carrier) {
            return Collections.list(carrier.getHeaderNames());
        }

        @Override
        public String get(HttpServletRequest carrier, String key) {
            return carrier == null ? null : carrier.getHeader(key);
        }
    };

    private final MeterRegistry registry;
    /** The timers by their tags: a few per route, since every tag is one of a bounded set of values. */
    private final Map<TimerKey, Timer> timers = new ConcurrentHashMap<>();
    private final OpenTelemetry openTelemetry;
    private final Tracer tracer;

    /** {@code registry} null: no timing; {@code openTelemetry} null: no spans. */
    HttpObservation(MeterRegistry registry, OpenTelemetry openTelemetry) {
        this.registry = registry;
        this.openTelemetry = openTelemetry;
        this.tracer = openTelemetry == null ? null : openTelemetry.getTracer("io.outboxkit.app");
    }

    /** Javalin's request logger: passes the matched route's template on to the filter. */
    static void recordRoute(Context ctx, Float millis) {
        String route;
        try {
            route = ctx.endpoint().path;
        } catch (RuntimeException e) {
            route = null; // no route matched
        }
        ctx.req().setAttribute(ROUTE, route);
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        HttpServletRequest http = (HttpServletRequest) request;
        String method = http.getMethod();
        Span span = null;
        Scope scope = null;
        if (tracer != null && !QUIET.contains(http.getRequestURI())) {
            io.opentelemetry.context.Context parent = parent(http);
            span = tracer.spanBuilder(method).setSpanKind(SpanKind.SERVER).setParent(parent)
                    .setAttribute(METHOD, method).setAttribute(PATH, http.getRequestURI()).startSpan();
            scope = parent.with(span).makeCurrent();
        }
        long started = System.nanoTime();
        try {
            chain.doFilter(request, response);
        } finally {
            int status = ((HttpServletResponse) response).getStatus();
            String route = request.getAttribute(ROUTE) instanceof String matched ? matched : null;
            if (registry != null) {
                timer(method, route, status).record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
            }
            if (span != null) {
                if (route != null) {
                    span.updateName(method + " " + route);
                    span.setAttribute(HTTP_ROUTE, route);
                }
                span.setAttribute(STATUS, (long) status);
                if (status >= 500) {
                    span.setStatus(StatusCode.ERROR);
                }
                span.end();
                scope.close();
            }
        }
    }

    /** The request's trace context from its headers; the root (a new trace) when absent or malformed. */
    private io.opentelemetry.context.Context parent(HttpServletRequest request) {
        try {
            return openTelemetry.getPropagators().getTextMapPropagator()
                    .extract(io.opentelemetry.context.Context.root(), request, HEADERS);
        } catch (RuntimeException e) {
            return io.opentelemetry.context.Context.root();
        }
    }

    private Timer timer(String method, String route, int status) {
        TimerKey key = new TimerKey(knownMethod(method), route != null ? route : status == 404 ? "NOT_FOUND" : "UNKNOWN",
                status >= 100 && status < 600 ? status / 100 : 0);
        Timer timer = timers.get(key);
        return timer != null ? timer : timers.computeIfAbsent(key, this::register);
    }

    private Timer register(TimerKey key) {
        return Timer.builder("http.server.requests")
                .description("HTTP requests answered, by method, route and status class")
                .tag("method", key.method())
                .tag("uri", key.uri())
                .tag("status", key.statusClass() != 0 ? key.statusClass() + "xx" : "other")
                .serviceLevelObjectives(BUCKETS)
                .register(registry);
    }

    /** A timer's tags: {@code statusClass} 1 to 5, or 0 for a status outside HTTP's classes. */
    private record TimerKey(String method, String uri, int statusClass) {
    }

    /** The method as a label: one of HTTP's own, never whatever a client sent. */
    private static String knownMethod(String method) {
        return switch (method) {
            case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT" -> method;
            default -> "other";
        };
    }
}
