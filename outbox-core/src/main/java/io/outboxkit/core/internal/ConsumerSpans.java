package io.outboxkit.core.internal;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.outboxkit.core.OutboxMessage;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The CONSUMER spans of the messages an idempotent handler applies, one per message, each a child
 * of the context the message carries (the producer's span; a new trace when it carries none, or a
 * malformed one), named {@code process <aggregate type>} after the messaging semantic conventions.
 * Nothing is created when tracing is off.
 */
public final class ConsumerSpans {

    private static final AttributeKey<String> CONSUMER_GROUP = AttributeKey.stringKey("messaging.consumer.group.name");
    private static final ConsumerSpans NONE = new ConsumerSpans(Map.of());

    private final Map<UUID, Span> spans;

    private ConsumerSpans(Map<UUID, Span> spans) {
        this.spans = spans;
    }

    /** Starts a span per message (the first of a repeated id only), or none when tracing is off. */
    public static ConsumerSpans start(Tracing tracing, String consumer, List<OutboxMessage> messages) {
        Tracer tracer = tracing.tracer();
        if (tracer == null) {
            return NONE;
        }
        Map<UUID, Span> spans = new LinkedHashMap<>();
        for (OutboxMessage message : messages) {
            if (spans.containsKey(message.id())) {
                continue;
            }
            Span span = tracer.spanBuilder("process " + message.aggregateType())
                    .setSpanKind(SpanKind.CONSUMER)
                    .setParent(Tracing.extract(message.headers()))
                    .setAttribute(ProducerSpans.SYSTEM, "outboxkit")
                    .setAttribute(ProducerSpans.DESTINATION, message.aggregateType())
                    .setAttribute(ProducerSpans.OPERATION_NAME, "process")
                    .setAttribute(ProducerSpans.OPERATION_TYPE, "process")
                    .setAttribute(CONSUMER_GROUP, consumer)
                    .startSpan();
            ProducerSpans.describe(span, message, messages.size());
            spans.put(message.id(), span);
        }
        return new ConsumerSpans(spans);
    }

    /**
     * Makes the span of a batch's only message current on this thread, so that what the handler
     * does nests under it; a no-op scope otherwise.
     */
    public Scope makeCurrent() {
        return spans.size() == 1 ? Context.current().with(spans.values().iterator().next()).makeCurrent() : Scope.noop();
    }

    /** Ends the span of {@code id}: marked failed with {@code error} when it is not null, and whether a duplicate. */
    public void end(UUID id, boolean duplicate, Throwable error) {
        Span span = spans.get(id);
        if (span == null) {
            return;
        }
        if (duplicate) {
            span.setAttribute("outboxkit.duplicate", true);
        }
        if (error != null) {
            span.setAttribute(ProducerSpans.ERROR_TYPE, error.getClass().getSimpleName());
            span.setStatus(StatusCode.ERROR, String.valueOf(error.getMessage()));
        }
        span.end();
    }

    /** Ends every span not ended yet as failed with {@code error}. */
    public void endAll(Throwable error) {
        spans.keySet().forEach(id -> end(id, false, error));
    }
}
