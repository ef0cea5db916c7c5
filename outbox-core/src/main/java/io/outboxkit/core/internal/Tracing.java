package io.outboxkit.core.internal;

import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.outboxkit.core.spi.TransportHeaders;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * Where outbox-core's spans come from, and how a trace context travels in a message's headers:
 * W3C Trace Context ({@value #TRACEPARENT}, {@value #TRACESTATE}), whatever propagators the host
 * configured, because the headers are a stored format that any consumer must read the same way.
 * Thread-safe.
 */
public final class Tracing {

    /** The header of a message that carries its W3C trace context. */
    public static final String TRACEPARENT = TransportHeaders.TRACEPARENT;
    /** The header of a message that carries vendor trace state, beside {@link #TRACEPARENT}. */
    public static final String TRACESTATE = TransportHeaders.TRACESTATE;

    private static final String SCOPE = "io.outboxkit.core";
    private static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();

    private static final TextMapGetter<Map<String, String>> HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, String> carrier) {
            return carrier.keySet();
        }

        @Override
        public String get(Map<String, String> carrier, String key) {
            return carrier == null ? null : carrier.get(key);
        }
    };

    private static final MethodHandle GLOBAL_IS_SET = globalIsSet();

    private final OpenTelemetry given;
    private volatile Tracer tracer;

    private Tracing(OpenTelemetry given) {
        this.given = given;
    }

    /** Spans from {@code openTelemetry}, or, when null, from the global one once a host installs it. */
    public static Tracing of(OpenTelemetry openTelemetry) {
        return new Tracing(openTelemetry);
    }

    /**
     * The tracer; null while tracing is off: no OpenTelemetry was given and none is installed as
     * the global one (so that an application without an SDK pays nothing for spans), or the
     * OpenTelemetry API is older than 1.57 and none was given. Looked up
     * again until one is found, so that an SDK installed after the poller was built still counts.
     */
    public Tracer tracer() {
        Tracer found = tracer;
        if (found != null) {
            return found;
        }
        if (given == null && !globalInstalled()) {
            return null;
        }
        found = (given != null ? given : GlobalOpenTelemetry.get()).getTracer(SCOPE);
        tracer = found;
        return found;
    }

    /**
     * Whether a host installed the global OpenTelemetry. Asked without {@code get()}, which would
     * install a no-op one for good (the host's SDK could then not be installed); through
     * {@code isSet()}, which the API has from 1.57: on an older one (an embedder's dependency
     * management may choose it) the global is never used.
     */
    private static boolean globalInstalled() {
        if (GLOBAL_IS_SET == null) {
            return false;
        }
        try {
            return (boolean) GLOBAL_IS_SET.invokeExact();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e); // isSet() declares no checked exception
        }
    }

    private static MethodHandle globalIsSet() {
        try {
            return MethodHandles.publicLookup().findStatic(GlobalOpenTelemetry.class, "isSet",
                    MethodType.methodType(boolean.class));
        } catch (NoSuchMethodException | IllegalAccessException e) {
            LoggerFactory.getLogger(Tracing.class).info("The OpenTelemetry API on the class path is older than 1.57: "
                    + "outbox spans come only from an OpenTelemetry given to the poller or handler, never from the "
                    + "global one");
            return null;
        }
    }

    /**
     * The trace context that {@code headers} carry, as a parent for a new span; the root context
     * (a new trace) when they carry none, or a malformed one. Never throws.
     */
    public static Context extract(Map<String, String> headers) {
        if (headers == null || !headers.containsKey(TRACEPARENT)) {
            return Context.root();
        }
        try {
            return W3C.extract(Context.root(), headers, HEADERS);
        } catch (RuntimeException e) {
            return Context.root(); // data from a client: a bad value starts a new trace, never an error
        }
    }

    /**
     * {@code headers} with the W3C trace context of {@code context}'s span in place of any they
     * had; {@code headers} themselves when that span's context is not valid (no trace).
     */
    public static Map<String, String> inject(Map<String, String> headers, Context context) {
        if (!Span.fromContext(context).getSpanContext().isValid()) {
            return headers;
        }
        Map<String, String> traced = new LinkedHashMap<>(headers);
        traced.remove(TRACESTATE);
        W3C.inject(context, traced, (carrier, key, value) -> carrier.put(key, value));
        return traced;
    }
}
