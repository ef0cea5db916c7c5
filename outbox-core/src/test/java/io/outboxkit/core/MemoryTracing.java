package io.outboxkit.core;

import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A test class's OpenTelemetry SDK, to give explicitly (it is never installed as the global one),
 * that exports each span as it ends to memory: emptied before each test, shut down after the class.
 * Register it as a static field with {@code @RegisterExtension}.
 */
final class MemoryTracing implements BeforeEachCallback, AfterAllCallback {

    private final InMemorySpanExporter spans = InMemorySpanExporter.create();
    private final OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
            .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
            .build();

    /** The SDK, sampling as its default does (parent-based, every root sampled). */
    OpenTelemetrySdk sdk() {
        return sdk;
    }

    /** The spans ended since the test began. */
    InMemorySpanExporter spans() {
        return spans;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        spans.reset();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        sdk.close();
    }
}
