package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.opentelemetry.sdk.trace.samplers.SamplingResult;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The retries of one message join the trace of its first recorded failure: a message written
 * outside a trace records its first failed attempt's span context with the failure, so that its
 * retries are children of that attempt and follow its sampling decision; a stored context of the
 * writer's is never touched.
 */
class RetryTracingTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    @RegisterExtension
    static final MemoryTracing TRACING = new MemoryTracing();

    private static final String WRITERS_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    /** How a failing attempt fails: one message refused, the whole batch thrown, or no answer in time. */
    enum Failing { REFUSED, BATCH_THROWN, TIMED_OUT }

    /** Fails the first {@code failures} attempts as {@code how} says, then delivers; keeps what it was handed. */
    private static final class FailingFirst implements MessagePublisher {
        final List<OutboxMessage> sent = new CopyOnWriteArrayList<>();
        final AtomicInteger attempts = new AtomicInteger();
        final Failing how;
        final int failures;

        FailingFirst(Failing how, int failures) {
            this.how = how;
            this.failures = failures;
        }

        @Override
        public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
            if (how == Failing.BATCH_THROWN && attempts.get() < failures) {
                attempts.incrementAndGet();
                throw new IllegalStateException("the broker closed the connection");
            }
            return MessagePublisher.super.publishAll(batch);
        }

        @Override
        public void publish(OutboxMessage message) throws Exception {
            sent.add(message);
            if (attempts.getAndIncrement() < failures) {
                throw how == Failing.TIMED_OUT ? new TimeoutException("no acknowledgement")
                        : new IllegalStateException("broker refused " + message.eventType());
            }
        }
    }

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @ParameterizedTest(name = "{0}, deleteOnPublish {1}, {2}")
    @CsvSource({"LEASE, false, REFUSED", "LEASE, true, BATCH_THROWN", "LOCK, false, TIMED_OUT", "LOCK, true, REFUSED",
        "LOCK, false, BATCH_THROWN", "LEASE, false, TIMED_OUT"})
    void the_retries_of_a_message_written_outside_a_trace_are_children_of_its_first_attempt(ClaimMode mode,
            boolean deleteOnPublish, Failing how) {
        UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-1", 0)));
        FailingFirst publisher = new FailingFirst(how, 2);
        OutboxPoller poller = poller(publisher, mode, TRACING.sdk()).deleteOnPublish(deleteOnPublish).build();

        assertThat(poller.pollOnce()).isOne();
        SpanData first = producers().get(0);
        assertThat(first.getParentSpanContext().isValid()).as("the first attempt starts the trace").isFalse();
        assertThat(storedHeaders(id)).as("recorded with the failure").containsExactly(
                Map.entry("traceparent", traceparent(first)));
        for (int attempt = 2; attempt <= 3; attempt++) {
            makeDue(id);
            assertThat(poller.pollOnce()).isOne();
        }

        List<SpanData> producers = producers();
        assertThat(producers).hasSize(3).allSatisfy(span -> assertThat(span.getTraceId()).isEqualTo(first.getTraceId()));
        assertThat(producers.subList(1, 3)).allSatisfy(retry ->
                assertThat(retry.getParentSpanId()).as("a child of the first attempt").isEqualTo(first.getSpanId()));
        assertThat(publisher.sent.get(publisher.sent.size() - 1).headers().get("traceparent"))
                .as("the delivery carries the last attempt's span")
                .isEqualTo(traceparent(producers.get(2)));
        assertThat(Outbox.count(db.jdbi(), "PENDING")).isZero();
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_dead_message_requeued_is_retried_in_the_trace_of_its_first_attempt(ClaimMode mode) {
        UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-2", 0)));
        OutboxPoller poller = poller(new FailingFirst(Failing.REFUSED, 1), mode, TRACING.sdk()).maxAttempts(1).build();
        assertThat(poller.pollOnce()).isOne();
        assertThat(Outbox.count(db.jdbi(), "DEAD")).isOne();

        assertThat(OutboxAdmin.create(db.jdbi()).requeue(id)).isTrue();
        assertThat(poller.pollOnce()).isOne();

        List<SpanData> producers = producers();
        assertThat(producers).hasSize(2);
        assertThat(producers.get(1).getTraceId()).isEqualTo(producers.get(0).getTraceId());
        assertThat(producers.get(1).getParentSpanId()).isEqualTo(producers.get(0).getSpanId());
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isOne();
    }

    /**
     * The first root is not sampled (as a ratio sampler decides for some trace ids; every later root
     * would be, here): the retries follow that decision as children, and are never roots sampled anew.
     */
    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void under_a_parent_based_sampler_the_retries_of_an_unsampled_first_attempt_are_not_sampled(ClaimMode mode) {
        AtomicInteger roots = new AtomicInteger();
        Sampler allButTheFirstRoot = new Sampler() {
            @Override
            public SamplingResult shouldSample(Context parent, String traceId, String name, SpanKind kind,
                    Attributes attributes, List<LinkData> links) {
                return roots.getAndIncrement() == 0 ? SamplingResult.drop() : SamplingResult.recordAndSample();
            }

            @Override
            public String getDescription() {
                return "all but the first root";
            }
        };
        InMemorySpanExporter exported = InMemorySpanExporter.create();
        UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-3", 0)));
        FailingFirst publisher = new FailingFirst(Failing.REFUSED, 2);
        try (OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().setTracerProvider(SdkTracerProvider.builder()
                .setSampler(Sampler.parentBased(allButTheFirstRoot))
                .addSpanProcessor(SimpleSpanProcessor.create(exported)).build()).build()) {
            OutboxPoller poller = poller(publisher, mode, sdk).build();
            assertThat(poller.pollOnce()).isOne();
            String stored = storedHeaders(id).get("traceparent");
            assertThat(stored).as("the unsampled attempt's context").matches("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");
            assertThat(Integer.parseInt(stored.substring(53), 16) & 1).as("the sampled flag of " + stored).isZero();
            for (int attempt = 2; attempt <= 3; attempt++) {
                makeDue(id);
                assertThat(poller.pollOnce()).isOne();
            }
            assertThat(exported.getFinishedSpanItems()).as("no attempt sampled").isEmpty();
            assertThat(roots.get()).as("one root decision for the message").isOne();
            assertThat(publisher.sent).hasSize(3).allSatisfy(m ->
                    assertThat(m.headers().get("traceparent")).isEqualTo(stored));
        }
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_message_written_inside_a_trace_keeps_its_headers_unchanged_after_a_failure(ClaimMode mode) {
        UUID sampled = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-4", 0)
                .withHeader("traceparent", WRITERS_TRACEPARENT).withHeader("tracestate", "vendor=1")
                .withHeader("tenant", "t-1")));
        UUID unsampled = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-5", 0)
                .withHeader("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")));
        String sampledBefore = storedJson(sampled);
        String unsampledBefore = storedJson(unsampled);

        OutboxPoller poller = poller(new FailingFirst(Failing.REFUSED, 2), mode, TRACING.sdk()).build();
        assertThat(poller.pollOnce()).isEqualTo(2);

        assertThat(Outbox.count(db.jdbi(), "PENDING")).isEqualTo(2);
        assertThat(storedJson(sampled)).isEqualTo(sampledBefore);
        assertThat(storedJson(unsampled)).isEqualTo(unsampledBefore);
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_malformed_stored_traceparent_is_replaced_by_the_failed_attempts_context(ClaimMode mode) {
        UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-6", 0)
                .withHeader("traceparent", "garbage").withHeader("tracestate", "=,=").withHeader("tenant", "t-1")));
        OutboxPoller poller = poller(new FailingFirst(Failing.REFUSED, 1), mode, TRACING.sdk()).build();

        assertThat(poller.pollOnce()).isOne();
        SpanData first = producers().get(0);
        assertThat(storedHeaders(id)).as("what was delivered; the other headers as they were")
                .containsOnly(Map.entry("tenant", "t-1"),
                        Map.entry("traceparent", traceparent(first)));
        makeDue(id);
        assertThat(poller.pollOnce()).isOne();
        assertThat(producers().get(1).getParentSpanId()).isEqualTo(first.getSpanId());
    }

    /**
     * A failure whose lease ran out while it was being delivered, the message claimed again and that
     * attempt's failure recorded first: the late failure records nothing, its context included, over
     * the claim that took the message again.
     */
    @Test
    void a_failure_after_its_lease_was_lost_records_no_context_over_the_claim_that_took_the_message_again()
            throws Exception {
        UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-8", 0)));
        CountDownLatch handed = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        MessagePublisher slow = m -> {
            handed.countDown();
            release.await();
            throw new IllegalStateException("refused after the lease ran out");
        };
        OutboxPoller late = poller(slow, ClaimMode.LEASE, TRACING.sdk()).name("relay-a").lease(Duration.ofMillis(300)).build();
        Thread lateCycle = new Thread(late::pollOnce, "late cycle");
        lateCycle.start();
        try {
            assertThat(handed.await(10, TimeUnit.SECONDS)).isTrue();
            await().atMost(Duration.ofSeconds(10)).until(() -> db.jdbi().withHandle(h -> h.createQuery(
                    "SELECT locked_until < clock_timestamp() FROM outbox WHERE id = :id").bind("id", id)
                    .mapTo(Boolean.class).one()));
            assertThat(poller(new FailingFirst(Failing.REFUSED, 1), ClaimMode.LEASE, TRACING.sdk()).name("relay-b").build()
                    .pollOnce()).isOne();
        } finally {
            release.countDown();
            lateCycle.join(TimeUnit.SECONDS.toMillis(10));
        }
        assertThat(lateCycle.isAlive()).isFalse();

        List<SpanData> producers = producers();
        assertThat(producers).hasSize(2);
        SpanData again = producers.get(0); // ended first: the late cycle's span ends with its late failure
        assertThat(storedHeaders(id)).containsExactly(Map.entry("traceparent", traceparent(again)));
        assertThat(storedJson(id)).doesNotContain(producers.get(1).getSpanId());
    }

    /** No SDK given nor installed globally, or one whose tracer makes no valid span: nothing to record. */
    @Test
    void with_tracing_off_a_failure_writes_no_header() {
        for (ClaimMode mode : ClaimMode.values()) {
            for (OpenTelemetry off : new OpenTelemetry[] {null, OpenTelemetry.noop()}) {
                Outbox.clear(db.jdbi());
                UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create().write(h, Outbox.message("o-7", 0)));
                OutboxPoller poller = poller(new FailingFirst(Failing.REFUSED, 1), mode, off).build();
                assertThat(poller.pollOnce()).isOne();
                assertThat(Outbox.count(db.jdbi(), "PENDING")).isOne();
                assertThat(storedJson(id)).as("%s, %s", mode, off).isEqualTo("{}");
            }
        }
        assertThat(TRACING.spans().getFinishedSpanItems()).isEmpty();
    }

    private static OutboxPoller.Builder poller(MessagePublisher publisher, ClaimMode mode, OpenTelemetry openTelemetry) {
        OutboxPoller.Builder builder = OutboxPoller.builder(db.jdbi(), publisher).claimMode(mode)
                .backoff(Duration.ofMinutes(1), Duration.ofMinutes(5)).maxAttempts(5);
        return openTelemetry == null ? builder : builder.openTelemetry(openTelemetry);
    }

    /** The W3C traceparent of {@code span}, with its flags as the SDK set them (sampled, random trace id). */
    private static String traceparent(SpanData span) {
        return "00-" + span.getTraceId() + "-" + span.getSpanId() + "-" + span.getSpanContext().getTraceFlags().asHex();
    }

    private static List<SpanData> producers() {
        return TRACING.spans().getFinishedSpanItems().stream().filter(s -> s.getKind() == SpanKind.PRODUCER).toList();
    }

    private static void makeDue(UUID id) {
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET available_at = now() WHERE id = ?", id));
    }

    private static String storedJson(UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT headers::text FROM outbox WHERE id = :id")
                .bind("id", id).mapTo(String.class).one());
    }

    private static Map<String, String> storedHeaders(UUID id) {
        return io.outboxkit.core.internal.Json.readHeaders(storedJson(id));
    }
}
