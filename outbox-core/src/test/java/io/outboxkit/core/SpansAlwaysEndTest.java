package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.PostgresExtension;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every span the library starts is ended, whatever the publisher or the handler throws. A poller or
 * a handler that runs for weeks and meets a failure the library survives (a poll error it retries,
 * an error it passes on) must not leave a span open at each: an open span is never exported, so
 * exactly the attempts that went wrong are missing from the traces, and a processor that tracks
 * spans in flight holds each one for good.
 */
class SpansAlwaysEndTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    private static final AtomicInteger STARTED = new AtomicInteger();
    private static final AtomicInteger ENDED = new AtomicInteger();
    private static final OpenTelemetrySdk SDK = OpenTelemetrySdk.builder()
            .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(new SpanProcessor() {
                @Override
                public void onStart(Context parentContext, ReadWriteSpan span) {
                    STARTED.incrementAndGet();
                }

                @Override
                public boolean isStartRequired() {
                    return true;
                }

                @Override
                public void onEnd(ReadableSpan span) {
                    ENDED.incrementAndGet();
                }

                @Override
                public boolean isEndRequired() {
                    return true;
                }
            }).build())
            .build();

    @AfterAll
    static void shutDown() {
        SDK.close();
    }

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
        STARTED.set(0);
        ENDED.set(0);
    }

    /** A publisher whose client lacks a class: a deployment's fault, which the poller keeps as a poll error and retries. */
    private static final class MissingClass implements MessagePublisher {
        @Override
        public void publish(OutboxMessage message) {
            throw new NoClassDefFoundError("com/example/broker/Client");
        }

        @Override
        public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) {
            throw new NoClassDefFoundError("com/example/broker/Client");
        }
    }

    @Test
    void every_producer_span_of_a_poll_cycle_that_failed_on_the_publishers_error_is_ended() {
        Outbox.write(db.jdbi(), 5, 1);
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), new MissingClass()).openTelemetry(SDK).build();

        for (int cycle = 0; cycle < 3; cycle++) {
            Outbox.clear(db.jdbi());
            Outbox.write(db.jdbi(), 5, 1);
            catchThrowable(poller::pollOnce); // a poll error, retried by a started poller after its interval
        }

        assertThat(STARTED.get()).as("PRODUCER spans started").isEqualTo(15);
        assertThat(ENDED.get()).as("PRODUCER spans ended, of %d started", STARTED.get()).isEqualTo(STARTED.get());
    }

    @Test
    void every_consumer_span_of_a_handler_that_threw_an_error_is_ended() {
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "spans", (tx, message) -> {
            throw new StackOverflowError(); // a recursive mapper on a deeply nested payload
        }).withOpenTelemetry(SDK);
        OutboxMessage message = new OutboxMessage(UUID.randomUUID(), 1, "Order", "o-1", "OrderCreated", "{}", Map.of(),
                Instant.now(), 1);

        for (int attempt = 0; attempt < 3; attempt++) {
            catchThrowable(() -> handler.handle(message));
            catchThrowable(() -> handler.handleAll(List.of(message)));
        }

        assertThat(STARTED.get()).as("CONSUMER spans started").isEqualTo(6);
        assertThat(ENDED.get()).as("CONSUMER spans ended, of %d started", STARTED.get()).isEqualTo(STARTED.get());
    }
}
