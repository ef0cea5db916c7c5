package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Spring Boot's OpenTelemetry support makes an {@link OpenTelemetry} bean and need not install it as
 * the global one; the starter's poller and handlers take their spans from that bean.
 */
class OpenTelemetryBeanTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY);

    @Test
    void an_opentelemetry_bean_gets_the_pollers_producer_span_and_the_handlers_consumer_span() {
        InMemorySpanExporter spans = InMemorySpanExporter.create();
        List<OutboxMessage> delivered = new CopyOnWriteArrayList<>();
        try (OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
                .build()) {
            Contexts.on(db).withBean(OpenTelemetry.class, () -> sdk).withBean(MessagePublisher.class, () -> delivered::add)
                    .run(context -> {
                        assertThat(GlobalOpenTelemetry.isSet()).as("the SDK is only a bean").isFalse();
                        UUID id = db.jdbi().inTransaction(h -> context.getBean(OutboxWriter.class)
                                .write(h, NewMessage.of("Order", "o-1", "OrderCreated", "{}")));

                        await("a PRODUCER span from the bean").atMost(Duration.ofSeconds(10))
                                .until(() -> !finished(spans, SpanKind.PRODUCER).isEmpty());
                        SpanData producer = finished(spans, SpanKind.PRODUCER).get(0);
                        assertThat(delivered).singleElement().satisfies(m -> assertThat(m.id()).isEqualTo(id));

                        context.getBean(IdempotentHandlers.class).create("loyalty", (tx, m) -> { }).handle(delivered.get(0));
                        assertThat(finished(spans, SpanKind.CONSUMER)).singleElement()
                                .satisfies(consumer -> assertThat(consumer.getParentSpanId()).isEqualTo(producer.getSpanId()));
                    });
        }
    }

    private static List<SpanData> finished(InMemorySpanExporter spans, SpanKind kind) {
        return spans.getFinishedSpanItems().stream().filter(span -> span.getKind() == kind).toList();
    }
}
