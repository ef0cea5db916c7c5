package io.outboxkit.app.observability;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdkBuilder;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import io.outboxkit.core.spi.Causes;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A service's OpenTelemetry SDK, configured by the standard {@code OTEL_*} environment variables
 * (the SDK's autoconfiguration: {@code OTEL_TRACES_EXPORTER=otlp}, {@code OTEL_EXPORTER_OTLP_ENDPOINT},
 * {@code OTEL_EXPORTER_OTLP_PROTOCOL} {@code http/protobuf} (the default) or {@code grpc}, {@code OTEL_TRACES_SAMPLER},
 * {@code OTEL_SERVICE_NAME}, ...), with the service's name as the default service name and
 * {@code none} as the default exporter of traces, metrics and logs: nothing leaves the process
 * unless asked for; the batch span processor queues up to {@value #SPAN_QUEUE} spans unless
 * {@code OTEL_BSP_MAX_QUEUE_SIZE} says otherwise. While every exporter is {@code none}, or
 * {@code OTEL_SDK_DISABLED=true}, no SDK is installed at all, so outbox-core makes no span and
 * costs nothing. Once installed it is the global OpenTelemetry, where outbox-core finds it.
 */
final class Tracing {

    private static final List<String> EXPORTERS = List.of("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER",
            "OTEL_LOGS_EXPORTER");
    private static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");
    /**
     * The SDK's choice of HTTP client for OTLP/HTTP, as a system property or (upper case, dots as
     * underscores) an environment variable, when more than one is on the class path.
     */
    static final String HTTP_SENDER = "io.opentelemetry.sdk.common.export.HttpSenderProvider";
    /**
     * The JDK's HTTP client. OkHttp's (also on the class path, for gRPC) held each export to a
     * collector on the same host back for tens of milliseconds, so that a relay delivering tens of
     * thousands of messages a second with every trace sampled lost most of its spans at the batch
     * processor's full queue.
     */
    static final String JDK_HTTP_SENDER = "io.opentelemetry.exporter.sender.jdk.internal.JdkHttpSenderProvider";
    /**
     * The batch span processor's queue unless {@code OTEL_BSP_MAX_QUEUE_SIZE} says otherwise: 8192
     * spans, not the SDK's 2048. A relay hands over a span per message, a batch at a time, and while
     * one export is on its way the SDK's queue overflowed and dropped spans without a word (up to
     * 1% of a traced drain's in the bench; none with this queue).
     */
    static final int SPAN_QUEUE = 8192;

    private Tracing() {
    }

    /** Whether {@code env} asks for an SDK: an exporter other than none, and the SDK not disabled. */
    static boolean requested(Env env) {
        if (env.bool("OTEL_SDK_DISABLED", false)) {
            return false;
        }
        return EXPORTERS.stream().map(name -> env.string(name, "none").toLowerCase(Locale.ROOT))
                .anyMatch(value -> !value.equals("none"));
    }

    /**
     * The SDK as {@code env} asks, installed as the global OpenTelemetry, or the no-op one when it
     * asks for none.
     *
     * @throws ConfigException naming the setting the SDK refused
     */
    static OpenTelemetry install(String serviceName, Env env) {
        if (!requested(env)) {
            return OpenTelemetry.noop();
        }
        preferJdkHttpSender(env);
        // On a refused setting the builder logs "Error encountered during autoconfiguration" at INFO,
        // two lines in java.util.logging's format before the one the ConfigException makes.
        Logger builderLog = Logger.getLogger(AutoConfiguredOpenTelemetrySdkBuilder.class.getName());
        Level levelBefore = builderLog.getLevel();
        builderLog.setLevel(Level.WARNING);
        try {
            return AutoConfiguredOpenTelemetrySdk.builder()
                    .addPropertiesSupplier(() -> Map.of(
                            "otel.traces.exporter", "none",
                            "otel.metrics.exporter", "none",
                            "otel.logs.exporter", "none",
                            // OpenTelemetry's specification names http/protobuf the default; the Java SDK's is grpc.
                            "otel.exporter.otlp.protocol", "http/protobuf",
                            "otel.bsp.max.queue.size", Integer.toString(SPAN_QUEUE)))
                    .addResourceCustomizer((resource, config) -> namedUnlessNamed(resource, serviceName,
                            config.getString("otel.service.name")))
                    .setResultAsGlobal()
                    // The service shuts the SDK down as its last step (Observability.close), after the
                    // batches it finishes on SIGTERM; the SDK's own hook would run beside that and drop their spans.
                    .disableShutdownHook()
                    .build()
                    .getOpenTelemetrySdk();
        } catch (RuntimeException e) {
            throw new ConfigException("the OpenTelemetry settings (OTEL_*) are refused: " + Causes.rootMessage(e));
        } finally {
            builderLog.setLevel(levelBefore);
        }
    }

    /** Chooses the JDK's HTTP client for OTLP/HTTP, unless the system property or its variable chose one. */
    static void preferJdkHttpSender(Env env) {
        String variable = HTTP_SENDER.toUpperCase(Locale.ROOT).replace('.', '_');
        if (System.getProperty(HTTP_SENDER) == null && env.string(variable, "").isBlank()) {
            System.setProperty(HTTP_SENDER, JDK_HTTP_SENDER);
        }
    }

    /** {@code resource} named {@code serviceName} unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES named it. */
    private static Resource namedUnlessNamed(Resource resource, String serviceName, String configured) {
        String name = resource.getAttribute(SERVICE_NAME);
        if (configured != null || (name != null && !name.startsWith("unknown_service"))) {
            return resource;
        }
        return resource.merge(Resource.create(io.opentelemetry.api.common.Attributes.of(SERVICE_NAME, serviceName)));
    }

    /** Sends what is buffered and stops the SDK, waiting up to 5 seconds; nothing for the no-op one. */
    static void shutdown(OpenTelemetry openTelemetry) {
        if (openTelemetry instanceof OpenTelemetrySdk sdk) {
            CompletableResultCode done = sdk.shutdown();
            done.join(5, TimeUnit.SECONDS);
        }
    }
}
