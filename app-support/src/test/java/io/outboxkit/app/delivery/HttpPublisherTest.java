package io.outboxkit.app.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.app.MessageEnvelope;
import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.app.testing.FakeConsumer.Reply;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.NotSentException;
import io.outboxkit.testing.ThreadPerTask;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What the client does besides the relay's deliveries (which outbox-relay's tests cover): one
 * delivery whose answer the caller reads, a builder that checks and seals its settings, and the
 * lease kept by batches that share the requests in flight (the relay's workers).
 */
class HttpPublisherTest {

    final FakeConsumer consumer = new FakeConsumer();

    @AfterEach
    void stop() {
        consumer.close();
    }

    @Test
    void deliver_once_sends_the_envelope_with_its_id_in_the_header_and_returns_what_the_consumer_reported() throws Exception {
        consumer.answerInTurn(Reply.processed(), Reply.duplicate());
        OutboxMessage message = message();

        try (HttpPublisher publisher = HttpPublisher.builder(URI.create(consumer.url())).build()) {
            assertThat(publisher.deliverOnce(message).reportedStatus()).contains(DeliveryProtocol.PROCESSED);
            assertThat(publisher.deliverOnce(message).reportedStatus()).contains(DeliveryProtocol.DUPLICATE);
        }

        assertThat(consumer.received()).hasSize(2).allSatisfy(received -> {
            assertThat(received.messageIdHeader()).isEqualTo(message.id());
            assertThat(received.contentType()).isEqualTo("application/json");
            assertThat(MessageEnvelope.fromJson(received.envelope())).usingRecursiveComparison().isEqualTo(message);
        });
    }

    @Test
    void a_single_delivery_carries_the_messages_trace_context_in_its_http_headers_when_it_is_safe_to_send() throws Exception {
        String traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        OutboxMessage traced = message().withHeaders(Map.of("traceparent", traceparent));
        OutboxMessage injecting = message().withHeaders(Map.of("traceparent", "00-x\r\nX-Injected: yes"));
        consumer.answerInTurn(Reply.processed(), Reply.processed(), Reply.processed());

        try (HttpPublisher publisher = HttpPublisher.builder(URI.create(consumer.url())).delivery(Delivery.SINGLE).build()) {
            assertThat(publisher.publishAll(List.of(traced))).isEmpty();
            assertThat(publisher.publishAll(List.of(injecting))).as("delivered, without the header").isEmpty();
            assertThat(publisher.publishAll(List.of(message()))).isEmpty();
            assertThat(publisher.messagingSystem()).isEqualTo("http");
        }

        assertThat(consumer.received()).extracting(FakeConsumer.Received::traceparent).containsExactly(traceparent, null, null);
    }

    @Test
    void a_failure_says_its_reason_refused_for_an_answer_unavailable_without_a_connection() throws Exception {
        consumer.answerInTurn(new Reply(500, "{\"error\":\"internal error\"}"));
        URI nowhere;
        try (ServerSocket socket = new ServerSocket(0)) {
            nowhere = URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/messages");
        }
        try (HttpPublisher refusing = HttpPublisher.builder(URI.create(consumer.url())).delivery(Delivery.SINGLE).build();
             HttpPublisher unreachable = HttpPublisher.builder(nowhere).build()) {
            assertThat(refusing.publishAll(List.of(message())).values()).singleElement()
                    .satisfies(e -> assertThat(FailureReason.of(e)).isEqualTo(FailureReason.REFUSED));
            assertThat(unreachable.publishAll(List.of(message())).values()).singleElement()
                    .satisfies(e -> assertThat(FailureReason.of(e)).isEqualTo(FailureReason.UNAVAILABLE));
        }
    }

    /**
     * A 502 or a 503 (the consumer's "try again shortly" while its database is down) says the
     * consumer cannot take messages now, a 504 that it did not answer in time: an outage, for which
     * the relay holds every worker off, not a refusal of these messages.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Delivery.class)
    void a_429_502_or_503_answer_fails_as_unavailable_and_a_408_or_504_as_a_timeout(Delivery delivery) throws Exception {
        try (HttpPublisher publisher = HttpPublisher.builder(URI.create(consumer.url())).delivery(delivery).build()) {
            assertThat(reasonOfAFailed(publisher, delivery, new Reply(502, "bad gateway"))).as("502")
                    .isEqualTo(FailureReason.UNAVAILABLE);
            assertThat(reasonOfAFailed(publisher, delivery, new Reply(503, "{\"error\":\"try again shortly\"}"))).as("503")
                    .isEqualTo(FailureReason.UNAVAILABLE);
            assertThat(reasonOfAFailed(publisher, delivery, new Reply(504, "gateway timeout"))).as("504")
                    .isEqualTo(FailureReason.TIMEOUT);
            assertThat(reasonOfAFailed(publisher, delivery, new Reply(429, "too many requests"))).as("429")
                    .isEqualTo(FailureReason.UNAVAILABLE);
            assertThat(reasonOfAFailed(publisher, delivery, new Reply(408, "request timeout"))).as("408")
                    .isEqualTo(FailureReason.TIMEOUT);
            assertThat(reasonOfAFailed(publisher, delivery, new Reply(400, "{\"error\":\"bad envelope\"}"))).as("400")
                    .isEqualTo(FailureReason.REFUSED);
        }
    }

    /** The reason of the failure of one message's delivery when the consumer answers its request {@code reply}. */
    private FailureReason reasonOfAFailed(HttpPublisher publisher, Delivery delivery, Reply reply) throws InterruptedException {
        if (delivery == Delivery.BATCH) {
            consumer.answerBatches(reply);
        } else {
            consumer.answerInTurn(reply);
        }
        Map<UUID, Exception> failures = publisher.publishAll(List.of(message()));
        assertThat(failures).hasSize(1);
        return FailureReason.of(failures.values().iterator().next());
    }

    @Test
    void a_single_delivery_is_a_2xx_unless_its_body_says_otherwise() throws Exception {
        consumer.answerInTurn(new Reply(204, ""), new Reply(200, "OK"), Reply.duplicate(),
                new Reply(200, "<!DOCTYPE html><html><body>Maintenance - try later</body></html>"),
                new Reply(200, "\n  <html lang=\"en\"><body>Sign in</body></html>"),
                new Reply(200, "{\"status\":\"failed\",\"error\":\"rolled back\"}"));

        try (HttpPublisher publisher = HttpPublisher.builder(URI.create(consumer.url())).delivery(Delivery.SINGLE).build()) {
            assertThat(publisher.publishAll(List.of(message()))).as("204, no body: any HTTP endpoint's yes").isEmpty();
            assertThat(publisher.publishAll(List.of(message()))).as("plain text").isEmpty();
            assertThat(publisher.publishAll(List.of(message()))).as("duplicate").isEmpty();
            assertThat(publisher.publishAll(List.of(message())).values()).singleElement()
                    .satisfies(e -> assertThat(e).hasMessageContaining("is an HTML page, not a consumer's answer: check CONSUMER_URL"));
            assertThat(publisher.publishAll(List.of(message())).values()).singleElement()
                    .satisfies(e -> assertThat(e).hasMessageContaining("is an HTML page"));
            assertThat(publisher.publishAll(List.of(message())).values()).singleElement()
                    .satisfies(e -> assertThat(e).hasMessageContaining("reports status failed, not processed or duplicate: "
                            + "rolled back"));
        }
    }

    @Test
    void an_answer_larger_than_the_limit_fails_the_delivery_whatever_its_content_length_claims() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread answering = new Thread(() -> {
                try (java.net.Socket socket = server.accept()) {
                    java.io.InputStream in = socket.getInputStream();
                    byte[] buffer = new byte[8192];
                    int read;
                    StringBuilder head = new StringBuilder();
                    while (!head.toString().contains("\r\n\r\n") && (read = in.read(buffer)) > 0) {
                        head.append(new String(buffer, 0, read, java.nio.charset.StandardCharsets.ISO_8859_1));
                    }
                    java.io.OutputStream out = socket.getOutputStream();
                    out.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2000000000\r\n\r\n"
                            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    byte[] chunk = new byte[64 * 1024];
                    java.util.Arrays.fill(chunk, (byte) ' ');
                    for (int sent = 0; sent <= HttpTransport.MAX_ANSWER_BYTES; sent += chunk.length) {
                        out.write(chunk);
                    }
                    out.flush();
                    while (in.read(buffer) >= 0) {
                        // holds the connection open (the rest of the body "to come") until the publisher closes it
                    }
                } catch (java.io.IOException e) {
                    // the publisher closed the connection once it had read enough
                }
            });
            answering.start();
            URI endpoint = URI.create("http://127.0.0.1:" + server.getLocalPort() + "/messages");
            try (HttpPublisher publisher = HttpPublisher.builder(endpoint).delivery(Delivery.SINGLE).build()) {
                assertThat(publisher.publishAll(List.of(message())).values()).singleElement()
                        .satisfies(e -> assertThat(e).hasMessageContaining("the answer is larger than 4 MiB"));
            }
            answering.join(10_000);
        }
    }

    @ParameterizedTest
    @EnumSource(Delivery.class)
    void a_batch_that_waited_for_another_batchs_requests_until_it_could_no_longer_end_within_the_lease_is_not_sent(
            Delivery delivery) throws Exception {
        CountDownLatch firstArrived = new CountDownLatch(1);
        CountDownLatch answerFirst = new CountDownLatch(1);
        holdRequests(firstArrived, answerFirst);
        OutboxMessage first = message();
        OutboxMessage second = message();
        // One request in flight; each batch may start one until 500 ms after it began (3 s lease, 2 s timeout).
        try (HttpPublisher publisher = HttpPublisher.builder(URI.create(consumer.url())).delivery(delivery)
                .timeout(Duration.ofSeconds(2)).lease(Duration.ofSeconds(3)).maxInFlight(1).build()) {
            CompletableFuture<Map<UUID, Exception>> firstWorker = inFlight(publisher, first, firstArrived);

            Map<UUID, Exception> failures = publisher.publishAll(List.of(second));
            answerFirst.countDown();

            assertThat(failures).containsOnlyKeys(second.id());
            assertThat(failures.get(second.id())).hasMessageStartingWith("not sent: it could no longer be delivered within "
                    + "the lease of 3000 ms");
            assertThat(FailureReason.of(failures.get(second.id()))).isEqualTo(FailureReason.TIMEOUT);
            assertThat(firstWorker.get(10, TimeUnit.SECONDS)).as("the first batch's failures").isEmpty();
        }
        assertThat(consumer.received()).extracting(FakeConsumer.Received::id).as("what reached the consumer")
                .containsExactly(first.id());
    }

    @ParameterizedTest
    @EnumSource(Delivery.class)
    void once_it_stops_sending_a_publisher_reports_the_requests_it_has_not_sent_at_once_and_awaits_those_sent(
            Delivery delivery) throws Exception {
        CountDownLatch firstArrived = new CountDownLatch(1);
        CountDownLatch answerFirst = new CountDownLatch(1);
        holdRequests(firstArrived, answerFirst);
        OutboxMessage first = message();
        OutboxMessage waiting = message();
        OutboxMessage later = message();
        // One request in flight: the second batch waits for it, as a batch's requests queue behind MAX_IN_FLIGHT.
        try (HttpPublisher publisher = HttpPublisher.builder(URI.create(consumer.url())).delivery(delivery)
                .timeout(Duration.ofSeconds(10)).lease(Duration.ofSeconds(30)).maxInFlight(1).build()) {
            CompletableFuture<Map<UUID, Exception>> firstWorker = inFlight(publisher, first, firstArrived);
            CompletableFuture<Map<UUID, Exception>> waitingWorker = CompletableFuture.supplyAsync(() -> publishAll(publisher, waiting), ThreadPerTask.INSTANCE);

            publisher.stopSending();

            Map<UUID, Exception> failures = waitingWorker.get(5, TimeUnit.SECONDS); // not after the first's answer, nor the lease
            assertThat(failures).containsOnlyKeys(waiting.id());
            assertThat(failures.get(waiting.id())).as("not sent: the poller gives it back uncounted")
                    .isInstanceOf(NotSentException.class).hasMessageStartingWith("not sent: the relay is stopping");
            assertThat(publisher.publishAll(List.of(later))).as("a batch after the stop").containsOnlyKeys(later.id());
            assertThat(firstWorker).as("the request already sent is awaited").isNotDone();
            answerFirst.countDown();
            assertThat(firstWorker.get(10, TimeUnit.SECONDS)).as("the first batch's failures").isEmpty();
        }
        assertThat(consumer.received()).extracting(FakeConsumer.Received::id).as("what reached the consumer")
                .containsExactly(first.id());
    }

    @Test
    void deliver_once_returns_a_refusal_with_its_status_and_error() throws Exception {
        consumer.answerInTurn(new Reply(422, "{\"error\":\"payload is invalid: amount\"}"));

        try (HttpPublisher publisher = HttpPublisher.builder(URI.create(consumer.url())).build()) {
            ConsumerAnswer answer = publisher.deliverOnce(message());

            assertThat(answer.isSuccess()).isFalse();
            assertThat(answer.status()).isEqualTo(422);
            assertThat(answer.error()).contains("payload is invalid: amount");
            assertThat(answer.reportedStatus()).isEmpty();
        }
    }

    @Test
    void deliver_once_to_a_closed_port_fails_saying_it_cannot_connect_there() throws Exception {
        URI nowhere;
        try (ServerSocket socket = new ServerSocket(0)) {
            nowhere = URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/messages");
        }

        try (HttpPublisher publisher = HttpPublisher.builder(nowhere).build()) {
            assertThatThrownBy(() -> publisher.deliverOnce(message()))
                    .isInstanceOf(DeliveryException.class)
                    .hasMessageStartingWith("cannot connect to " + nowhere + ": ");
        }
    }

    @Test
    void a_setter_called_after_build_changes_nothing_built() throws Exception {
        HttpPublisher.Builder builder = HttpPublisher.builder(URI.create(consumer.url())).delivery(Delivery.SINGLE);

        try (HttpPublisher publisher = builder.build()) {
            builder.delivery(Delivery.BATCH);
            Map<UUID, Exception> failures = publisher.publishAll(List.of(message(), message()));

            assertThat(failures).isEmpty();
            assertThat(consumer.batchSizes()).as("batch requests").isEmpty();
            assertThat(consumer.received()).as("single requests").hasSize(2);
        }
    }

    @Test
    void a_timeout_that_is_not_positive_is_refused() {
        assertThatThrownBy(() -> HttpPublisher.builder(URI.create(consumer.url())).timeout(Duration.ZERO).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("timeout must be positive");
    }

    @Test
    void a_lease_not_longer_than_the_timeout_is_refused() {
        assertThatThrownBy(() -> HttpPublisher.builder(URI.create(consumer.url())).timeout(Duration.ofSeconds(5))
                .lease(Duration.ofSeconds(5)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("lease must exceed the timeout");
    }

    @Test
    void no_request_in_flight_is_refused() {
        assertThatThrownBy(() -> HttpPublisher.builder(URI.create(consumer.url())).maxInFlight(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("maxInFlight must be at least 1");
    }

    /** A consumer that hangs: it holds each request until {@code answer} is counted down, counting {@code arrived} down first. */
    private void holdRequests(CountDownLatch arrived, CountDownLatch answer) {
        consumer.answer(request -> {
            arrived.countDown();
            answer.await(20, TimeUnit.SECONDS);
            return Reply.processed();
        });
    }

    /** Delivers {@code message} on a thread of its own; returns once its request has {@code arrived} at the consumer. */
    private static CompletableFuture<Map<UUID, Exception>> inFlight(HttpPublisher publisher, OutboxMessage message,
                                                                    CountDownLatch arrived) throws InterruptedException {
        CompletableFuture<Map<UUID, Exception>> worker = CompletableFuture.supplyAsync(() -> publishAll(publisher, message),
                ThreadPerTask.INSTANCE);
        assertThat(arrived.await(10, TimeUnit.SECONDS)).as("the first batch's request reached the consumer").isTrue();
        return worker;
    }

    private static Map<UUID, Exception> publishAll(HttpPublisher publisher, OutboxMessage message) {
        try {
            return publisher.publishAll(List.of(message));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static OutboxMessage message() {
        String order = UUID.randomUUID().toString();
        return new OutboxMessage(UUID.randomUUID(), 7, "Order", order, "OrderCreated", "{\"order_id\":\"" + order + "\"}",
                Map.of("trace_id", "t-7"), Instant.parse("2026-11-26T15:00:00Z"), 1);
    }
}
