package io.outboxkit.app.observability;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.metrics.micrometer.MicrometerMetricsTrackerFactory;
import io.javalin.config.JavalinConfig;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.outboxkit.app.Database;
import io.outboxkit.app.Env;
import jakarta.servlet.DispatcherType;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.sql.SQLException;
import java.util.EnumSet;
import java.util.Objects;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A service's metrics and tracing, set up once at start and shared by its parts.
 *
 * <p>Metrics ({@code METRICS}: on unless {@code off}): a Prometheus registry with the JVM's meters
 * (memory, GC, threads, classes, CPU, uptime, file descriptors; all in base units, the process' CPU
 * time as {@code process_cpu_seconds_total}), served as Prometheus text at
 * {@code GET /metrics} of each Javalin server {@link #configure configured} with it, plus the
 * connection pool's ({@link #trackPool}) and every HTTP request's ({@code http.server.requests}).
 * Off, {@link #registry()} is a registry that keeps nothing, {@code /metrics} is not served and
 * nothing is timed: what a measurement of their cost compares against.
 *
 * <p>Tracing: the OpenTelemetry SDK from the {@code OTEL_*} variables, installed only when an
 * exporter is asked for (see {@link #openTelemetry()}); each HTTP request is then a SERVER span.
 * Thread-safe.
 */
public final class Observability implements AutoCloseable {

    /** The content type of Prometheus' text format, version 0.0.4. */
    public static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private static final Logger LOG = LoggerFactory.getLogger(Observability.class);

    private final PrometheusMeterRegistry prometheus;
    private final MeterRegistry registry;
    private final OpenTelemetry openTelemetry;
    private final boolean tracing;
    private final JvmGcMetrics gc;

    private Observability(PrometheusMeterRegistry prometheus, OpenTelemetry openTelemetry, boolean tracing) {
        this.prometheus = prometheus;
        this.registry = prometheus != null ? prometheus : new CompositeMeterRegistry();
        this.openTelemetry = openTelemetry;
        this.tracing = tracing;
        this.gc = prometheus == null ? null : new JvmGcMetrics();
        if (prometheus != null) {
            // ProcessorMetrics' process.cpu.time is in nanoseconds (process_cpu_time_ns_total): served
            // in seconds instead, as every other figure (issue 17's base units; promtool flags it)
            prometheus.config().meterFilter(MeterFilter.deny(id -> id.getName().equals("process.cpu.time")));
            bindProcessCpuSeconds(prometheus);
            for (MeterBinder jvm : new MeterBinder[] {new JvmMemoryMetrics(), gc, new JvmThreadMetrics(),
                new ClassLoaderMetrics(), new ProcessorMetrics(), new UptimeMetrics(), new FileDescriptorMetrics()}) {
                jvm.bindTo(prometheus);
            }
        }
    }

    /** {@code process_cpu_seconds_total}, Prometheus' usual name, where the JVM tells its CPU time. */
    private static void bindProcessCpuSeconds(MeterRegistry registry) {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean process && process.getProcessCpuTime() >= 0) {
            FunctionCounter.builder("process.cpu", process, p -> p.getProcessCpuTime() / 1e9).baseUnit("seconds")
                    .description("The CPU time used by the Java Virtual Machine process").register(registry);
        }
    }

    /**
     * Reads {@code METRICS} and the {@code OTEL_*} variables of {@code env} and sets both up;
     * {@code serviceName} is the default {@code service.name} of the traces.
     *
     * @throws io.outboxkit.app.ConfigException naming a bad setting
     */
    public static Observability start(String serviceName, Env env) {
        Objects.requireNonNull(serviceName, "serviceName");
        boolean metrics = env.bool("METRICS", true);
        boolean tracing = Tracing.requested(env);
        OpenTelemetry openTelemetry = Tracing.install(serviceName, env);
        LOG.info("{}: metrics {}, tracing {}", serviceName, metrics ? "at GET /metrics" : "off (METRICS=off)",
                tracing ? "on (OTEL_* variables)" : "off (set OTEL_TRACES_EXPORTER=otlp to export traces)");
        return new Observability(metrics ? new PrometheusMeterRegistry(PrometheusConfig.DEFAULT) : null, openTelemetry,
                tracing);
    }

    /** Neither metrics nor tracing: for tests and tools that want none. */
    public static Observability off() {
        return new Observability(null, OpenTelemetry.noop(), false);
    }

    /** Whether metrics are kept and served. */
    public boolean metricsEnabled() {
        return prometheus != null;
    }

    /** Where the service registers its own meters: kept and served when metrics are on, else dropped. */
    public MeterRegistry registry() {
        return registry;
    }

    /** Whether an OpenTelemetry SDK is installed (an exporter was asked for). */
    public boolean tracingEnabled() {
        return tracing;
    }

    /** The installed SDK (also the global OpenTelemetry), or the no-op one when tracing is off. */
    public OpenTelemetry openTelemetry() {
        return openTelemetry;
    }

    /** Binds {@code binder}'s meters to the registry, when metrics are on. */
    public void bind(MeterBinder binder) {
        if (prometheus != null) {
            binder.bindTo(prometheus);
        }
    }

    /** Tracks {@code database}'s connection pool ({@code hikaricp_connections...}), when metrics are on. */
    public void trackPool(Database database) {
        if (prometheus == null) {
            return;
        }
        try {
            database.dataSource().unwrap(HikariDataSource.class)
                    .setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(prometheus));
        } catch (SQLException e) {
            throw new IllegalStateException("the database's pool is not HikariCP's", e);
        }
    }

    /**
     * Adds to a Javalin server's configuration: {@code GET /metrics} (Prometheus text) and the
     * timing of every request when metrics are on, and a SERVER span per request when tracing is.
     */
    public void configure(JavalinConfig config) {
        if (prometheus == null && !tracing) {
            return;
        }
        HttpObservation observation = new HttpObservation(prometheus, tracing ? openTelemetry : null);
        config.jetty.modifyServletContextHandler(handler -> handler.addFilter(new FilterHolder(observation), "/*",
                EnumSet.of(DispatcherType.REQUEST)));
        config.requestLogger.http(HttpObservation::recordRoute);
        if (prometheus != null) {
            config.routes.get("/metrics", ctx -> ctx.status(200).contentType(PROMETHEUS_TEXT).result(prometheus.scrape()));
        }
    }

    /** Sends the traces still buffered and stops the SDK; closes the registry. */
    @Override
    public void close() {
        Tracing.shutdown(openTelemetry);
        if (gc != null) {
            gc.close();
        }
        registry.close();
    }
}
