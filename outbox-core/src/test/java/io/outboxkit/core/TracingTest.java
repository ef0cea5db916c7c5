package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.opentelemetry.sdk.trace.samplers.SamplingResult;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.PostgresExtension;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One trace from the writer's caller through the poller's PRODUCER span to the handler's CONSUMER
 * span, carried in the message's headers; and a malformed stored context, which starts a new trace
 * and breaks nothing. The SDK is given explicitly (never installed as the global one).
 */
class TracingTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    @RegisterExtension
    static final MemoryTracing TRACING = new MemoryTracing();

    private static final InMemorySpanExporter SPANS = TRACING.spans();
    private static final OpenTelemetrySdk SDK = TRACING.sdk();

    /** A publisher that keeps what it was handed, as a broker would carry it, and names its system. */
    private static final class Carrying implements MessagePublisher {
        final List<OutboxMessage> sent = new CopyOnWriteArrayList<>();

        @Override
        public void publish(OutboxMessage message) {
            sent.add(message);
        }

        @Override
        public String messagingSystem() {
            return "kafka";
        }

        @Override
        public String destinationName(OutboxMessage message) {
            return "outbox.event." + message.aggregateType();
        }
    }

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @Test
    void one_trace_runs_from_the_writers_span_through_the_producer_span_to_the_consumer_span() {
        Span request = SDK.getTracer("test").spanBuilder("POST /orders").setSpanKind(SpanKind.SERVER).startSpan();
        UUID id;
        try (Scope current = request.makeCurrent()) {
            id = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-1", 0)));
        } finally {
            request.end();
        }
        Map<String, String> stored = storedHeaders(id);
        // version 00, the caller's trace and span, then the flags (sampled, and the SDK's random trace id)
        assertThat(stored.get("traceparent")).startsWith("00-" + request.getSpanContext().getTraceId() + "-"
                + request.getSpanContext().getSpanId() + "-");

        Carrying publisher = new Carrying();
        OutboxPoller.builder(db.jdbi(), publisher).openTelemetry(SDK).build().pollOnce();
        SpanData producer = only(SpanKind.PRODUCER);
        assertThat(producer.getName()).isEqualTo("send outbox.event.Order");
        assertThat(producer.getParentSpanId()).isEqualTo(request.getSpanContext().getSpanId());
        assertThat(producer.getTraceId()).isEqualTo(request.getSpanContext().getTraceId());
        assertThat(producer.getAttributes().get(AttributeKey.stringKey("messaging.system"))).isEqualTo("kafka");
        assertThat(producer.getAttributes().get(AttributeKey.stringKey("messaging.destination.name"))).isEqualTo("outbox.event.Order");
        assertThat(producer.getAttributes().get(AttributeKey.stringKey("messaging.message.id"))).isEqualTo(id.toString());
        assertThat(producer.getAttributes().get(AttributeKey.stringKey("messaging.operation.type"))).isEqualTo("send");
        assertThat(producer.getAttributes().get(AttributeKey.stringKey("messaging.operation.name"))).isEqualTo("send");
        OutboxMessage delivered = publisher.sent.get(0);
        assertThat(delivered.headers().get("traceparent")).as("the delivery carries the producer span")
                .startsWith("00-" + producer.getTraceId() + "-" + producer.getSpanId() + "-");
        assertThat(storedHeaders(id)).as("what is stored is unchanged").isEqualTo(stored);

        IdempotentHandler.create(db.jdbi(), "loyalty", (tx, m) -> { }).withOpenTelemetry(SDK).handle(delivered);
        SpanData consumer = only(SpanKind.CONSUMER);
        assertThat(consumer.getTraceId()).isEqualTo(request.getSpanContext().getTraceId());
        assertThat(consumer.getParentSpanId()).isEqualTo(producer.getSpanId());
        assertThat(consumer.getName()).isEqualTo("process Order");
        assertThat(consumer.getAttributes().get(AttributeKey.stringKey("messaging.operation.type"))).isEqualTo("process");
        assertThat(consumer.getAttributes().get(AttributeKey.stringKey("messaging.consumer.group.name"))).isEqualTo("loyalty");
    }

    @Test
    void outside_a_trace_the_writer_adds_no_header_and_the_producer_span_starts_a_trace() {
        UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-2", 0)));
        assertThat(storedHeaders(id)).doesNotContainKey("traceparent");

        OutboxPoller.builder(db.jdbi(), new Carrying()).openTelemetry(SDK).build().pollOnce();
        assertThat(only(SpanKind.PRODUCER).getParentSpanContext().isValid()).isFalse();
    }

    @Test
    void a_failed_delivery_ends_its_producer_span_with_an_error_and_its_reason() {
        db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-3", 0)));
        OutboxPoller.builder(db.jdbi(), m -> {
            throw new java.net.ConnectException("Connection refused");
        }).openTelemetry(SDK).build().pollOnce();
        SpanData producer = only(SpanKind.PRODUCER);
        assertThat(producer.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(producer.getAttributes().get(AttributeKey.stringKey("error.type"))).isEqualTo("unavailable");
    }

    @Test
    void without_an_sdk_nothing_is_traced_and_the_message_is_handed_over_as_it_was() {
        UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-4", 0)
                .withHeader("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")));
        Carrying publisher = new Carrying();
        OutboxPoller.builder(db.jdbi(), publisher).build().pollOnce(); // no SDK given, none installed globally
        assertThat(publisher.sent.get(0).headers()).isEqualTo(storedHeaders(id));
        assertThat(SPANS.getFinishedSpanItems()).isEmpty();
    }

    @Test
    void a_sampler_decides_on_the_sampling_relevant_attributes_and_a_sampled_span_gets_the_rest() {
        List<Attributes> seen = new CopyOnWriteArrayList<>();
        Sampler recording = new Sampler() {
            @Override
            public SamplingResult shouldSample(Context parent, String traceId, String name, SpanKind kind,
                    Attributes attributes, List<LinkData> links) {
                seen.add(attributes);
                return SamplingResult.recordAndSample();
            }

            @Override
            public String getDescription() {
                return "recording";
            }
        };
        InMemorySpanExporter exported = InMemorySpanExporter.create();
        List<SpanData> producers;
        try (OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().setTracerProvider(SdkTracerProvider.builder()
                .setSampler(recording).addSpanProcessor(SimpleSpanProcessor.create(exported)).build()).build()) {
            db.jdbi().inTransaction(h -> OutboxWriter.create().writeAll(h, List.of(Outbox.message("o-7", 0), Outbox.message("o-8", 0))));
            assertThat(OutboxPoller.builder(db.jdbi(), new Carrying()).openTelemetry(sdk).build().pollOnce()).isEqualTo(2);
            producers = List.copyOf(exported.getFinishedSpanItems()); // before the SDK's shutdown clears them
        }
        assertThat(seen).hasSize(2).allSatisfy(attributes -> {
            assertThat(attributes.get(AttributeKey.stringKey("messaging.system"))).isEqualTo("kafka");
            assertThat(attributes.get(AttributeKey.stringKey("messaging.destination.name"))).isEqualTo("outbox.event.Order");
            assertThat(attributes.get(AttributeKey.stringKey("messaging.operation.type"))).isEqualTo("send");
        });
        assertThat(producers).hasSize(2).allSatisfy(span -> {
            assertThat(span.getAttributes().get(AttributeKey.stringKey("outboxkit.aggregate.type"))).isEqualTo("Order");
            assertThat(span.getAttributes().get(AttributeKey.stringKey("outboxkit.aggregate.id"))).isIn("o-7", "o-8");
            assertThat(span.getAttributes().get(AttributeKey.longKey("messaging.batch.message_count"))).isEqualTo(2L);
        });
    }

    @Test
    void an_unsampled_stored_context_is_delivered_as_stored_and_no_span_is_exported() {
        String unsampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
        UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-9", 0)
                .withHeader("traceparent", unsampled)));
        Carrying publisher = new Carrying();
        OutboxPoller.builder(db.jdbi(), publisher).openTelemetry(SDK).build().pollOnce(); // parent-based sampling, the SDK's default

        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isEqualTo(1);
        assertThat(publisher.sent.get(0).headers()).as("the next hop follows the same decision").isEqualTo(storedHeaders(id));
        IdempotentHandler.create(db.jdbi(), "loyalty", (tx, m) -> { }).withOpenTelemetry(SDK).handle(publisher.sent.get(0));
        assertThat(SPANS.getFinishedSpanItems()).isEmpty();
    }

    /** Stored contexts a client might send: each starts a new trace, and the message is delivered and handled. */
    @ParameterizedTest(name = "traceparent \"{0}\"")
    @ValueSource(strings = {"", " ", "garbage", "00", "00-", "00-xyz-abc-01",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01", // an all-zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", // an all-zero span id
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", // the forbidden version
        "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01", // upper case
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-zz",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01",
        "\u0001\u0002\u007f", "00-\u00e9\u00e9-\u00e9-01", "{\"json\": true}",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01,00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    void a_malformed_stored_traceparent_starts_a_new_trace_and_breaks_nothing(String bad) {
        UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-5", 0)
                .withHeader("traceparent", bad).withHeader("tracestate", "=,=,\u00e9")));
        Carrying publisher = new Carrying();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).openTelemetry(SDK).build();

        assertThat(poller.pollOnce()).isEqualTo(1);
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isEqualTo(1);
        SpanData producer = only(SpanKind.PRODUCER);
        assertThat(producer.getParentSpanContext().isValid()).as("a new trace").isFalse();

        OutboxMessage asReceived = publisher.sent.get(0);
        Outcome outcome = IdempotentHandler.create(db.jdbi(), "loyalty", (tx, m) -> { }).withOpenTelemetry(SDK)
                .handle(asReceived.withHeaders(Map.of("traceparent", bad)));
        assertThat(outcome).isEqualTo(Outcome.PROCESSED);
        assertThat(only(SpanKind.CONSUMER).getParentSpanContext().isValid()).isFalse();
        assertThat(id).isEqualTo(asReceived.id());
    }

    /** An unsampled stored context is followed as it is read, not passed on as stored: what the propagator refused stays behind. */
    @ParameterizedTest(name = "traceparent \"{0}\", tracestate \"{1}\"")
    @CsvSource(delimiter = '|', value = {
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00        | =,=,\u00e9",
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-\u00e9 junk | ok=1"})
    void an_unsampled_stored_context_goes_on_in_the_form_the_propagator_reads_it(String traceparent, String tracestate) {
        db.jdbi().useTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-6", 0)
                .withHeader("traceparent", traceparent).withHeader("tracestate", tracestate)));
        Carrying publisher = new Carrying();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).openTelemetry(SDK).build();

        assertThat(poller.pollOnce()).isEqualTo(1);

        Map<String, String> sent = publisher.sent.get(0).headers();
        assertThat(sent.get("traceparent")).as("the stored trace, unsampled, as the propagator writes it")
                .isEqualTo("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00");
        assertThat(sent.get("tracestate")).as("kept only when the propagator accepted it").isIn(null, "ok=1");
        assertThat(SPANS.getFinishedSpanItems()).as("nothing exported for an unsampled trace").isEmpty();
    }

    private static SpanData only(SpanKind kind) {
        List<SpanData> spans = SPANS.getFinishedSpanItems().stream().filter(s -> s.getKind() == kind).toList();
        assertThat(spans).as("%s spans", kind).hasSize(1);
        return spans.get(0);
    }

    private static Map<String, String> storedHeaders(UUID id) {
        String json = db.jdbi().withHandle(h -> h.createQuery("SELECT headers::text FROM outbox WHERE id = :id")
                .bind("id", id).mapTo(String.class).one());
        return io.outboxkit.core.internal.Json.readHeaders(json);
    }

}
