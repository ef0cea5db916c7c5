package io.outboxkit.app.observability;

import io.opentelemetry.api.trace.Tracer;
import io.outboxkit.app.Env;
import io.outboxkit.app.ServiceMain;

/**
 * A minimal service process for {@link TracingAtStopTest}: {@link ServiceMain} around
 * {@link Observability} from the environment, as the services start it, whose stop ends one last
 * span after a moment (a batch in flight finishing) before it closes the observability.
 */
public final class TracingServiceProbe {

    /** The name of the span ended while the process stops. */
    static final String SPAN_AT_STOP = "span-ended-while-stopping";

    private TracingServiceProbe() {
    }

    public static void main(String[] args) {
        ServiceMain.run("tracing-probe", () -> {
            Observability observability = Observability.start("tracing-probe", Env.system());
            Tracer tracer = observability.openTelemetry().getTracer("probe");
            return () -> {
                Thread.sleep(300); // the last batch still being delivered when SIGTERM came
                tracer.spanBuilder(SPAN_AT_STOP).startSpan().end();
                observability.close();
            };
        });
    }
}
