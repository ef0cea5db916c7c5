package io.outboxkit.core.internal;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.MessagePublisher;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The PRODUCER spans of one claimed batch, one per message, each a child of the context recorded
 * when the message was written (a new trace when it had none, or a malformed one), named and
 * described after the messaging semantic conventions ({@code send <destination>}); a sampler sees
 * their sampling-relevant attributes. The messages handed to the publisher carry their span's
 * context in their headers, so the trace, and its sampling decision, go on in the delivery. When
 * tracing is off nothing is created and the batch is handed over as it is. A failed attempt of a
 * message without a valid stored context gives its span's context to record with the failure
 * ({@link #contextToRecord}), so that its retries join the trace of its first recorded failure
 * (an attempt before it whose failure was not recorded, a lease run out, stays a trace of its own).
 */
public final class ProducerSpans {

    static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("messaging.system");
    static final AttributeKey<String> DESTINATION = AttributeKey.stringKey("messaging.destination.name");
    static final AttributeKey<String> OPERATION_NAME = AttributeKey.stringKey("messaging.operation.name");
    static final AttributeKey<String> OPERATION_TYPE = AttributeKey.stringKey("messaging.operation.type");
    static final AttributeKey<String> MESSAGE_ID = AttributeKey.stringKey("messaging.message.id");
    static final AttributeKey<Long> BATCH_COUNT = AttributeKey.longKey("messaging.batch.message_count");
    static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
    /** What the message is about: for finding one order's event in a tracing UI (a span, unlike a metric, may carry it). */
    static final AttributeKey<String> AGGREGATE_TYPE = AttributeKey.stringKey("outboxkit.aggregate.type");
    static final AttributeKey<String> AGGREGATE_ID = AttributeKey.stringKey("outboxkit.aggregate.id");
    static final AttributeKey<String> EVENT_TYPE = AttributeKey.stringKey("outboxkit.event.type");

    /** Whether spans were started: with tracing off there is no context to record. */
    private final boolean traced;
    private final List<OutboxMessage> messages;
    private final Map<UUID, Span> spans;
    /** The handed-over messages by id, built at the first failure only: a delivered batch never needs it. */
    private Map<UUID, OutboxMessage> handedOver;

    private ProducerSpans(boolean traced, List<OutboxMessage> messages, Map<UUID, Span> spans) {
        this.traced = traced;
        this.messages = messages;
        this.spans = spans;
    }

    /** Starts a span per message of {@code batch}, or none when tracing is off. */
    public static ProducerSpans start(Tracing tracing, MessagePublisher publisher, List<OutboxMessage> batch) {
        Tracer tracer = tracing.tracer();
        if (tracer == null) {
            return new ProducerSpans(false, batch, Map.of());
        }
        String system = text(publisher::messagingSystem, MessagePublisher.DEFAULT_MESSAGING_SYSTEM);
        String operation = text(publisher::operationName, "send");
        List<OutboxMessage> traced = new ArrayList<>(batch.size());
        Map<UUID, Span> spans = new HashMap<>(batch.size() * 2);
        for (OutboxMessage message : batch) {
            String destination = text(() -> publisher.destinationName(message), message.aggregateType());
            Context parent = Tracing.extract(message.headers());
            Span span = tracer.spanBuilder(operation + " " + destination)
                    .setSpanKind(SpanKind.PRODUCER)
                    .setParent(parent)
                    .setAttribute(SYSTEM, system)
                    .setAttribute(DESTINATION, destination)
                    .setAttribute(OPERATION_NAME, operation)
                    .setAttribute(OPERATION_TYPE, "send")
                    .startSpan();
            describe(span, message, batch.size());
            if (span.isRecording()) {
                spans.put(message.id(), span); // an unsampled span has nothing to end
            }
            traced.add(carrying(message, parent, span));
        }
        return new ProducerSpans(true, traced, spans);
    }

    /**
     * Gives a recording span the attributes that no sampler needs (the semantic conventions'
     * sampling-relevant ones go to the span builder): an unsampled span, most of them where
     * sampling is on, costs no attribute.
     */
    static void describe(Span span, OutboxMessage message, int batchSize) {
        if (!span.isRecording()) {
            return;
        }
        span.setAttribute(MESSAGE_ID, message.id().toString());
        span.setAttribute(AGGREGATE_TYPE, message.aggregateType());
        span.setAttribute(AGGREGATE_ID, message.aggregateId());
        span.setAttribute(EVENT_TYPE, message.eventType());
        if (batchSize > 1) {
            span.setAttribute(BATCH_COUNT, (long) batchSize);
        }
    }

    /**
     * {@code message} with {@code span}'s context in its headers; with its own stored context when
     * that already says what matters downstream: an unsampled span of the trace it carries (the next
     * hop follows the same decision, and no exported span would be its parent), written back as the
     * propagator reads it, so that a stored value it refused (a malformed tracestate, say) goes no further.
     */
    private static OutboxMessage carrying(OutboxMessage message, Context parent, Span span) {
        SpanContext own = span.getSpanContext();
        SpanContext stored = Span.fromContext(parent).getSpanContext();
        if (!own.isSampled() && stored.isValid() && !stored.isSampled() && stored.getTraceId().equals(own.getTraceId())) {
            Map<String, String> canonical = Tracing.inject(message.headers(), parent);
            return canonical.equals(message.headers()) ? message : message.withHeaders(canonical);
        }
        Map<String, String> headers = Tracing.inject(message.headers(), Context.root().with(span));
        return headers == message.headers() ? message : message.withHeaders(headers);
    }

    /** The batch to hand to the publisher: each message with its span's trace context in its headers. */
    public List<OutboxMessage> messages() {
        return messages;
    }

    /**
     * The trace context to record in the headers of {@code message} (one of the claimed batch) with
     * the failure of this attempt, so that its next attempt is a child of this attempt's span and
     * follows its sampling decision (an unsampled span's context says so, with flags {@code 00}):
     * {@value Tracing#TRACEPARENT}, and {@value Tracing#TRACESTATE} when the span has one. Only for a
     * message that had no valid stored context (none, or a malformed one, replaced by what was
     * delivered); empty when it had one (the writer's, or an earlier attempt's, kept as stored), when
     * tracing is off, or when its span has no valid context (a no-op tracer). Read from the message
     * handed to the publisher, so it costs nothing until a delivery fails.
     */
    public Map<String, String> contextToRecord(OutboxMessage message) {
        if (!traced || hasValidContext(message.headers())) {
            return Map.of();
        }
        if (handedOver == null) {
            handedOver = new HashMap<>(messages.size() * 2);
            messages.forEach(m -> handedOver.put(m.id(), m));
        }
        OutboxMessage sent = handedOver.get(message.id());
        // carrying() gave it this attempt's span context when that is valid; else its headers are as stored, with none
        if (sent == null || !hasValidContext(sent.headers())) {
            return Map.of();
        }
        String traceparent = sent.headers().get(Tracing.TRACEPARENT);
        String tracestate = sent.headers().get(Tracing.TRACESTATE);
        return tracestate == null ? Map.of(Tracing.TRACEPARENT, traceparent)
                : Map.of(Tracing.TRACEPARENT, traceparent, Tracing.TRACESTATE, tracestate);
    }

    private static boolean hasValidContext(Map<String, String> headers) {
        return Span.fromContext(Tracing.extract(headers)).getSpanContext().isValid();
    }

    /** Ends every span: failed ones with an error status, the reason and the error's text. */
    public void end(Map<UUID, Exception> failures) {
        spans.forEach((id, span) -> {
            Exception failure = failures.get(id);
            if (failure != null) {
                span.setAttribute(ERROR_TYPE, FailureReason.of(failure).label());
                span.setStatus(StatusCode.ERROR, String.valueOf(failure.getMessage()));
            }
            span.end();
        });
    }

    /** Ends every span as failed with {@code why} (the batch's outcome is unknown). */
    public void endAll(String why) {
        spans.values().forEach(span -> {
            span.setStatus(StatusCode.ERROR, why);
            span.end();
        });
    }

    /** A publisher's answer, or {@code fallback} when it throws or answers blank: telemetry never fails a delivery. */
    private static String text(java.util.function.Supplier<String> answer, String fallback) {
        try {
            String text = answer.get();
            return text == null || text.isBlank() ? fallback : text;
        } catch (RuntimeException e) {
            return fallback;
        }
    }
}
