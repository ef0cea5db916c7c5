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
import io.outboxkit.app.http.Health;
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
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

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
    static final Set<String> QUIET = Set.of("/metrics", "/metrics.json", Health.PATH, Health.LIVE,
            Health.READY);

    private static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
    private static final AttributeKey<String> PATH = AttributeKey.stringKey("url.path");
    private static final AttributeKey<String> HTTP_ROUTE = AttributeKey.stringKey("http.route");
    private static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
    private static final Duration[] BUCKETS = {Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10),
        Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
        Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(5)};

    /** The method label's values: HTTP's own methods, then {@code other}. */
    private static final List<String> METHODS = List.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
            "TRACE", "CONNECT", "other");
    /** Status classes 1xx to 5xx, and 0 for a status outside them. */
    private static final int STATUS_CLASSES = 6;

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
    /** The timers by route, then by method and status class ({@link #METHODS} index × {@link #STATUS_CLASSES} + class). */
    private final Map<String, AtomicReferenceArray<Timer>> timers = new ConcurrentHashMap<>();
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
        String uri = route != null ? route : status == 404 ? "NOT_FOUND" : "UNKNOWN";
        AtomicReferenceArray<Timer> byMethodAndStatus = timers.get(uri);
        if (byMethodAndStatus == null) {
            byMethodAndStatus = timers.computeIfAbsent(uri, u -> new AtomicReferenceArray<>(METHODS.size() * STATUS_CLASSES));
        }
        int methodIndex = methodIndex(method);
        int statusClass = status >= 100 && status < 600 ? status / 100 : 0;
        int slot = methodIndex * STATUS_CLASSES + statusClass;
        Timer timer = byMethodAndStatus.get(slot);
        if (timer == null) {
            // Two requests racing here get the same timer: the registry keeps one meter per name and tags.
            timer = Timer.builder("http.server.requests")
                    .description("HTTP requests answered, by method, route and status class")
                    .tag("method", METHODS.get(methodIndex))
                    .tag("uri", uri)
                    .tag("status", statusClass != 0 ? statusClass + "xx" : "other")
                    .serviceLevelObjectives(BUCKETS)
                    .register(registry);
            byMethodAndStatus.set(slot, timer);
        }
        return timer;
    }

    /** The method's index in {@link #METHODS}: one of HTTP's own, never whatever a client sent. */
    private static int methodIndex(String method) {
        int known = METHODS.indexOf(method);
        return known >= 0 ? known : METHODS.size() - 1;
    }
}
