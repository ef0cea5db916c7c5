package io.outboxkit.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.BatchReceiver;
import io.outboxkit.core.spi.TransportHeaders;
import io.outboxkit.testing.SecondClose;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The source's contract against the real broker: when it acknowledges, what it retries, what it dead-letters, and order. */
class RabbitMqSourceTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    private Broker broker;
    private String exchange;
    private String queue;
    private RabbitMqPublisher publisher;
    private final List<RabbitMqSource> sources = new ArrayList<>();
    private final Recorder recorder = new Recorder();

    @BeforeEach
    void setUp() throws Exception {
        broker = new Broker();
        exchange = broker.exchange("source");
        queue = broker.queue("consumer");
        publisher = RabbitMqPublisher.builder(Broker.URI).exchange(exchange).build();
    }

    @AfterEach
    void tearDown() throws Exception {
        sources.forEach(RabbitMqSource::close);
        publisher.close();
        broker.close();
    }

    private RabbitMqSource.Builder source() {
        return source(Broker.URI);
    }

    private RabbitMqSource.Builder source(String uri) {
        return RabbitMqSource.builder(uri, queue).exchange(exchange).prefetch(50).batchSize(10)
                .initialBackoff(Duration.ofMillis(20)).maxBackoff(Duration.ofMillis(100))
                .reconnectInterval(Duration.ofMillis(100)).timeout(Duration.ofSeconds(5));
    }

    private RabbitMqSource started(RabbitMqSource.Builder builder) {
        RabbitMqSource source = builder.build();
        sources.add(source);
        source.start(recorder);
        return source;
    }

    private void publish(List<OutboxMessage> messages) throws Exception {
        for (int i = 0; i < messages.size(); i += 10) {
            assertThat(publisher.publishAll(messages.subList(i, Math.min(i + 10, messages.size())))).isEmpty();
        }
    }

    @Test
    void a_receiver_that_throws_an_error_ends_the_receiving_thread_and_the_source_is_no_longer_alive() throws Exception {
        RabbitMqSource source = source().build();
        sources.add(source);
        assertThat(source.isAlive()).as("not started: nothing has ended").isTrue();
        source.start(batch -> {
            throw new StackOverflowError("a bug in the receiver");
        });
        await().atMost(WAIT).until(source::isConnected);
        assertThat(source.isAlive()).isTrue();

        publish(Messages.orders(1));

        // The Error is the test's own, expected to end the thread: not a failure of the test.
        await().dontCatchUncaughtExceptions().atMost(WAIT).until(() -> !source.isAlive());
        assertThat(source.isConnected()).isFalse();
        source.close();
        assertThat(source.isAlive()).as("closed: stopped by design").isTrue();
    }

    @Test
    void every_message_reaches_the_receiver_in_batches_and_none_is_left_after_it_returned() throws Exception {
        RabbitMqSource source = started(source());
        List<OutboxMessage> messages = Messages.orders(100);

        publish(messages);
        await().atMost(WAIT).until(() -> recorder.appliedCount() == 100);
        source.close();

        assertThat(recorder.batches).allSatisfy(batch -> assertThat(batch).hasSizeBetween(1, 10));
        assertThat(recorder.batches.stream().mapToInt(List::size).sum()).isEqualTo(100);
        assertThat(recorder.violations).isEmpty();
        assertThat(broker.ready(queue)).isZero(); // all acknowledged: nothing went back to the queue at close
    }

    @Test
    void closing_the_source_finishes_the_batch_in_hand_acknowledges_it_and_leaves_the_rest_in_the_queue() throws Exception {
        RabbitMqSource source = started(source().prefetch(30));
        recorder.holdNextBatch();
        publish(Messages.orders(30));
        await().atMost(WAIT).until(recorder::isHolding);
        await().atMost(WAIT).until(() -> broker.ready(queue) == 0); // all 30 delivered to the source, 10 in hand

        Thread closing = new Thread(source::close);
        closing.start();
        await().atMost(WAIT).until(() -> closing.getState() == Thread.State.TIMED_WAITING); // close() waits for the batch
        recorder.release();
        closing.join(WAIT.toMillis());

        int inHand = recorder.batches.get(0).size();
        assertThat(closing.isAlive()).isFalse();
        assertThat(recorder.batches).hasSize(1);
        assertThat(recorder.appliedCount()).isEqualTo(inHand);
        assertThat(broker.ready(queue)).isEqualTo(30 - inHand);
        assertThat(source.isConnected()).isFalse();
    }

    @Test
    void a_close_called_while_another_is_under_way_returns_only_once_the_batch_in_hand_is_acknowledged() throws Exception {
        RabbitMqSource source = started(source().prefetch(30));
        recorder.holdNextBatch();
        publish(Messages.orders(30));
        await().atMost(WAIT).until(recorder::isHolding);
        await().atMost(WAIT).until(() -> broker.ready(queue) == 0);

        int ready = SecondClose.sees(source::close, () -> !source.isConnected(), recorder::release,
                () -> broker.ready(queue));

        int inHand = recorder.batches.get(0).size();
        assertThat(ready).as("back in the queue when the second close() returned: all but the "
                + "acknowledged batch").isEqualTo(30 - inHand);
    }

    @Test
    void a_close_called_while_the_receivers_own_close_is_under_way_returns_only_once_its_batch_is_acknowledged()
            throws Exception {
        // The receiver's close (to stop the application) returns at once; a JVM shutdown hook's close meanwhile must wait
        // for the receiver's batch, since its caller may exit next.
        AtomicReference<RabbitMqSource> self = new AtomicReference<>();
        CountDownLatch closedByReceiver = new CountDownLatch(1);
        RabbitMqSource source = source().prefetch(30).build();
        sources.add(source);
        self.set(source);
        recorder.holdNextBatch();
        source.start(batch -> {
            self.get().close();
            closedByReceiver.countDown();
            return recorder.receive(batch);
        });
        publish(Messages.orders(30));
        assertThat(closedByReceiver.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        await().atMost(WAIT).until(recorder::isHolding);
        await().atMost(WAIT).until(() -> broker.ready(queue) == 0);

        int ready = SecondClose.sees(source::close, recorder::release, () -> broker.ready(queue));

        int inHand = recorder.batches.get(0).size();
        assertThat(ready).as("back in the queue when the second close() returned: all but the "
                + "acknowledged batch").isEqualTo(30 - inHand);
    }

    @Test
    void a_receiver_that_throws_gets_every_message_of_that_batch_again() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        recorder.throwOn = batch -> calls.incrementAndGet() == 1;
        started(source());
        List<OutboxMessage> messages = Messages.orders(5);
        publish(messages);

        await().atMost(WAIT).until(() -> recorder.appliedCount() == 5);

        List<OutboxMessage> thrownOn = recorder.batches.get(0);
        assertThat(thrownOn).allSatisfy(m -> assertThat(recorder.deliveries(m.id())).isEqualTo(2));
        assertThat(thrownOn).allSatisfy(m -> assertThat(recorder.events).contains("received " + m.id() + " 2"));
        assertThat(recorder.violations).isEmpty();
    }

    @Test
    void a_receiver_that_returns_null_instead_of_its_failures_gets_every_message_of_that_batch_again() throws Exception {
        List<OutboxMessage> messages = Messages.orders(3);
        Map<UUID, Integer> deliveries = new ConcurrentHashMap<>();
        Set<UUID> done = ConcurrentHashMap.newKeySet();
        RabbitMqSource source = source().build();
        sources.add(source);
        source.start(batch -> {
            batch.forEach(m -> deliveries.merge(m.id(), 1, Integer::sum));
            if (batch.stream().anyMatch(m -> deliveries.get(m.id()) == 1)) {
                return null; // not a map of failures, for any batch that hands a message over for the first time
            }
            batch.forEach(m -> done.add(m.id()));
            return Map.of();
        });
        publish(messages);

        await().atMost(WAIT).until(() -> done.size() == messages.size());
        source.close();
        assertThat(messages).allSatisfy(m -> assertThat(deliveries.get(m.id())).isGreaterThanOrEqualTo(2));
        assertThat(broker.ready(queue)).isZero();
    }

    @Test
    void a_receiver_that_throws_for_longer_than_max_attempts_dead_letters_nothing() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        recorder.throwOn = batch -> calls.incrementAndGet() <= 5; // its database down for five rounds
        RabbitMqSource source = started(source().maxAttempts(2));
        publish(Messages.orders(5));

        await().atMost(WAIT).until(() -> recorder.appliedCount() == 5);

        assertThat(calls.get()).isGreaterThan(5);
        assertThat(broker.ready(source.deadLetterQueue())).isZero();
    }

    @Test
    void the_rounds_a_receiver_threw_on_do_not_count_toward_a_messages_max_attempts() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        recorder.throwOn = batch -> calls.incrementAndGet() <= 3; // its database down for three rounds, then back
        OutboxMessage message = Messages.orders(1).get(0);
        // Back from the outage, the message fails once on its own (a deadlock, say): one attempt of the three.
        recorder.failure = m -> recorder.deliveries(m.id()) == 4 ? "deadlock detected" : null;
        RabbitMqSource source = started(source().maxAttempts(3));
        publish(List.of(message));

        await().atMost(WAIT).until(() -> recorder.hasApplied(message.id()) || broker.ready(source.deadLetterQueue()) > 0);

        assertThat(broker.ready(source.deadLetterQueue()))
                .as("dead letters after one failure of the message itself (maxAttempts 3; the rounds the receiver "
                        + "threw on dead-letter nothing)").isZero();
        assertThat(recorder.hasApplied(message.id())).as("applied on its retry").isTrue();
    }

    /**
     * After an outage of the receiver's database (rounds it threw on, backing off further each
     * time), a message's own first failure waits the first backoff, not the outage's last.
     */
    @Test
    void a_messages_own_failure_after_rounds_the_receiver_threw_on_waits_its_first_backoff() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        recorder.throwOn = batch -> calls.incrementAndGet() <= 10; // about 5 s of rounds at 5 ms doubling
        OutboxMessage message = Messages.orders(1).get(0);
        AtomicLong failedAt = new AtomicLong();
        AtomicLong retriedAt = new AtomicLong();
        recorder.failure = m -> {
            if (recorder.deliveries(m.id()) == 11) {
                failedAt.set(System.nanoTime());
                return "deadlock detected";
            }
            retriedAt.set(System.nanoTime());
            return null;
        };
        started(source().initialBackoff(Duration.ofMillis(5)).maxBackoff(Duration.ofSeconds(60)));
        publish(List.of(message));

        await().atMost(WAIT).until(() -> recorder.hasApplied(message.id()));

        assertThat(Duration.ofNanos(retriedAt.get() - failedAt.get()))
                .as("from its own first failure to its retry (first backoff 5 ms; the outage's rounds reached 5 s)")
                .isLessThan(Duration.ofSeconds(2));
    }

    @Test
    void a_message_the_receiver_fails_is_delivered_again_and_the_rest_of_its_batch_is_acknowledged_once() throws Exception {
        broker.queueBoundTo(queue, Map.of("x-single-active-consumer", true), exchange, "#");
        List<OutboxMessage> messages = Messages.orders(5);
        OutboxMessage failing = messages.get(2);
        recorder.failure = m -> m.id().equals(failing.id()) && m.attempts() == 1 ? "not yet" : null;
        publish(messages);
        RabbitMqSource source = started(source());

        await().atMost(WAIT).until(() -> recorder.appliedCount() == 5);
        source.close();

        assertThat(recorder.deliveries(failing.id())).isEqualTo(2);
        assertThat(messages).filteredOn(m -> m != failing).allSatisfy(m -> assertThat(recorder.deliveries(m.id())).isEqualTo(1));
        assertThat(broker.ready(queue)).isZero();
    }

    @Test
    void a_message_listed_as_failed_without_an_exception_is_delivered_again_and_dead_lettered_after_max_attempts()
            throws Exception {
        OutboxMessage message = Messages.message("Order", "o-1", "OrderCreated");
        Map<UUID, Integer> deliveries = new ConcurrentHashMap<>();
        BatchReceiver noCause = batch -> {
            Map<UUID, Exception> failures = new HashMap<>();
            batch.forEach(m -> {
                deliveries.merge(m.id(), 1, Integer::sum);
                failures.put(m.id(), null); // "this one failed", no exception at hand
            });
            return failures;
        };
        RabbitMqSource source = source().maxAttempts(2).build();
        sources.add(source);
        source.start(noCause);
        publish(List.of(message));

        GetResponse dead = broker.take(source.deadLetterQueue());

        assertThat(dead.getProps().getMessageId()).isEqualTo(message.id().toString());
        assertThat(String.valueOf(dead.getProps().getHeaders().get(RabbitMqSource.DEAD_LETTER_ERROR_HEADER)))
                .isEqualTo("the receiver listed message " + message.id() + " as failed without an exception");
        assertThat(deliveries.get(message.id())).as("not acknowledged as done after its first failure").isEqualTo(2);
        source.close();
        assertThat(broker.ready(queue)).isZero();
    }

    @Test
    void order_per_aggregate_holds_with_failures_in_between() throws Exception {
        RabbitMqSource source = started(source().prefetch(60).batchSize(20));
        Random random = new Random(42);
        int aggregates = 10;
        int perAggregate = 30;
        List<OutboxMessage> messages = new ArrayList<>();
        Set<UUID> failOnce = new HashSet<>();
        Set<UUID> failTwice = new HashSet<>();
        for (int n = 0; n < perAggregate; n++) {
            for (int a = 0; a < aggregates; a++) {
                OutboxMessage m = Messages.message("Order", "order-" + a, "Event" + n);
                messages.add(m);
                int roll = random.nextInt(10);
                if (roll < 2) {
                    failOnce.add(m.id());
                } else if (roll < 3) {
                    failTwice.add(m.id());
                }
            }
        }
        AtomicInteger batchNumber = new AtomicInteger();
        recorder.throwOn = batch -> batchNumber.incrementAndGet() % 7 == 3 && batchNumber.get() < 40;
        recorder.failure = m -> (failOnce.contains(m.id()) && m.attempts() < 2) || (failTwice.contains(m.id()) && m.attempts() < 3)
                ? "failing on attempt " + m.attempts() : null;

        publish(messages); // in batches of one message per aggregate, as the poller hands them over
        await().atMost(WAIT).until(() -> recorder.appliedCount() == messages.size());

        assertThat(recorder.violations).isEmpty();
        for (int a = 0; a < aggregates; a++) {
            String id = "order-" + a;
            assertThat(recorder.applied("Order", id)).as(id).containsExactlyElementsOf(messages.stream()
                    .filter(m -> m.aggregateId().equals(id)).map(OutboxMessage::sequence).toList());
        }
        assertThat(recorder.events.stream().filter(e -> e.startsWith("failed")).count()).isGreaterThan(50);
        source.close();
        assertThat(broker.ready(queue)).isZero();
    }

    @Test
    void a_message_that_keeps_failing_is_dead_lettered_after_max_attempts_and_the_rest_of_its_aggregate_follows()
            throws Exception {
        RabbitMqSource source = started(source().maxAttempts(3).initialBackoff(Duration.ofMillis(200))
                .maxBackoff(Duration.ofMillis(200)));
        OutboxMessage poison = Messages.message("Order", "a", "OrderCreated");
        OutboxMessage a2 = Messages.message("Order", "a", "OrderPaid");
        OutboxMessage a3 = Messages.message("Order", "a", "OrderCancelled");
        List<OutboxMessage> others = List.of(Messages.message("Order", "b", "OrderCreated"),
                Messages.message("Order", "b", "OrderPaid"), Messages.message("Order", "c", "OrderCreated"));
        recorder.failure = m -> m.id().equals(poison.id()) ? "the handler cannot apply it: amount is negative" : null;

        publish(List.of(poison, others.get(0)));
        publish(List.of(a2, others.get(1)));
        publish(List.of(a3, others.get(2)));
        await().atMost(WAIT).until(() -> recorder.hasApplied(a3.id()));

        assertThat(recorder.deliveries(poison.id())).isEqualTo(3);
        int thirdAttempt = recorder.indexOf("received " + poison.id() + " 3");
        assertThat(recorder.indexOf("applied " + a2.id())).isGreaterThan(thirdAttempt);
        assertThat(recorder.indexOf("applied " + a3.id())).isGreaterThan(recorder.indexOf("applied " + a2.id()));
        assertThat(others).allSatisfy(m -> assertThat(recorder.indexOf("applied " + m.id()))
                .isLessThan(recorder.indexOf("received " + poison.id() + " 2"))); // other aggregates were not held up
        GetResponse dead = broker.take(source.deadLetterQueue());
        assertThat(dead.getProps().getMessageId()).isEqualTo(poison.id().toString());
        assertThat(dead.getProps().getHeaders()).extractingByKeys(RabbitMqSource.DEAD_LETTER_ERROR_HEADER,
                        RabbitMqSource.DEAD_LETTER_ATTEMPTS_HEADER, RabbitMqSource.DEAD_LETTER_QUEUE_HEADER,
                        RabbitMqSource.ORIGINAL_EXCHANGE_HEADER, RabbitMqSource.ORIGINAL_ROUTING_KEY_HEADER, "aggregate_id")
                .map(String::valueOf)
                .containsExactly("the handler cannot apply it: amount is negative", "3", queue, exchange,
                        "Order.OrderCreated", "a");
        assertThat(new String(dead.getBody(), StandardCharsets.UTF_8)).isEqualTo(poison.payload());
        source.close();
        assertThat(broker.ready(queue)).isZero();
    }

    @Test
    void a_long_error_is_cut_in_the_dead_letter_copy_without_splitting_a_character() throws Exception {
        RabbitMqSource source = started(source().maxAttempts(1));
        OutboxMessage poison = Messages.message("Order", "a", "OrderCreated");
        // 4001 characters and more, the 4000th the first half of a surrogate pair
        recorder.failure = m -> "a" + "\uD83D\uDE00".repeat(2500);

        publish(List.of(poison));

        GetResponse dead = broker.take(source.deadLetterQueue());
        assertThat(String.valueOf(dead.getProps().getHeaders().get(RabbitMqSource.DEAD_LETTER_ERROR_HEADER)))
                .isEqualTo("a" + "\uD83D\uDE00".repeat(1999) + "...");
    }

    @Test
    void an_unreadable_message_goes_to_the_dead_letter_queue_at_once_with_its_error() throws Exception {
        RabbitMqSource source = started(source());
        OutboxMessage valid = Messages.message("Order", "o-1", "OrderCreated");
        Map<String, Object> headers = new HashMap<>(AmqpMessages.outgoing(valid, 1 << 20, 0).properties().getHeaders());
        headers.put("id", "not-a-uuid");
        broker.publishRaw(exchange, "Order.OrderCreated", new AMQP.BasicProperties.Builder().messageId("no-headers").build(),
                "{}".getBytes(StandardCharsets.UTF_8));
        broker.publishRaw(exchange, "Order.OrderCreated", new AMQP.BasicProperties.Builder().messageId("bad-id")
                .headers(headers).build(), "{}".getBytes(StandardCharsets.UTF_8));
        broker.publishRaw(exchange, "Order.OrderCreated", new AMQP.BasicProperties.Builder().messageId("bad-body")
                .headers(AmqpMessages.outgoing(valid, 1 << 20, 0).properties().getHeaders()).build(),
                new byte[] {'"', (byte) 0xC3, (byte) 0x28, '"'});
        publish(List.of(Messages.message("Order", "o-2", "OrderCreated")));

        await().atMost(WAIT).until(() -> recorder.appliedCount() == 1);
        await().atMost(WAIT).until(() -> broker.ready(source.deadLetterQueue()) == 3);

        Map<String, String> errors = new HashMap<>();
        for (GetResponse dead : broker.drain(source.deadLetterQueue())) {
            assertThat(String.valueOf(dead.getProps().getHeaders().get(RabbitMqSource.DEAD_LETTER_ATTEMPTS_HEADER))).isEqualTo("0");
            errors.put(dead.getProps().getMessageId(), String.valueOf(dead.getProps().getHeaders()
                    .get(RabbitMqSource.DEAD_LETTER_ERROR_HEADER)));
        }
        assertThat(errors).containsOnly(
                Map.entry("no-headers", "unreadable as an outbox message: header id is missing"),
                Map.entry("bad-id", "unreadable as an outbox message: header id is not a UUID: not-a-uuid"),
                Map.entry("bad-body", "unreadable as an outbox message: the body is not UTF-8 text (Input length = 1)"));
        assertThat(recorder.batches).hasSize(1);
        source.close();
        assertThat(broker.ready(queue)).isZero();
    }

    @Test
    void the_receiver_is_told_once_of_each_message_dead_lettered_unreadable_or_after_max_attempts() throws Exception {
        RabbitMqSource source = started(source().maxAttempts(2));
        OutboxMessage poison = Messages.message("Order", "p", "OrderCreated");
        recorder.failure = m -> m.id().equals(poison.id()) ? "the handler cannot apply it" : null;
        broker.publishRaw(exchange, "Order.OrderCreated", new AMQP.BasicProperties.Builder().messageId("no-headers").build(),
                "{}".getBytes(StandardCharsets.UTF_8));
        publish(List.of(poison));

        await().atMost(WAIT).until(() -> recorder.deadLettered.size() == 2);
        OutboxMessage later = Messages.message("Order", "q", "OrderCreated");
        publish(List.of(later));
        await().atMost(WAIT).until(() -> recorder.hasApplied(later.id()));
        assertThat(recorder.deadLettered).containsExactlyInAnyOrder("unreadable", poison.id().toString());
        assertThat(broker.ready(source.deadLetterQueue())).isEqualTo(2);
    }

    @ParameterizedTest // an envelope header too: one this long is no readable envelope's
    @ValueSource(strings = {"junk", "aggregate_id"})
    void an_unreadable_message_whose_headers_fill_a_frame_is_dead_lettered_without_them_and_holds_up_nothing(String header)
            throws Exception {
        RabbitMqSource source = started(source());
        byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
        // A foreign message whose header frame just fits: the dead-letter headers added to a copy would not.
        broker.publishRaw(exchange, "Foreign.Thing", fillingAFrame(Map.of(), header, body), body);
        publish(List.of(Messages.message("Order", "o-1", "OrderCreated")));

        await().atMost(WAIT).until(() -> recorder.appliedCount() == 1);
        await().atMost(WAIT).until(() -> broker.ready(source.deadLetterQueue()) == 1);

        GetResponse dead = broker.drain(source.deadLetterQueue()).get(0);
        assertThat(dead.getProps().getMessageId()).isEqualTo("huge-headers");
        assertThat(dead.getProps().getHeaders()).doesNotContainKey(header);
        assertThat(String.valueOf(dead.getProps().getHeaders().get("dead_letter_truncated"))).isEqualTo("headers: " + header);
        assertThat(dead.getBody()).isEqualTo(body);
        assertThat(String.valueOf(dead.getProps().getHeaders().get(RabbitMqSource.DEAD_LETTER_ERROR_HEADER)))
                .startsWith("unreadable as an outbox message: header id is missing");
    }

    @Test
    void a_short_dead_letter_copy_keeps_a_byte_array_envelope_header_of_at_most_its_limit_in_characters_not_bytes()
            throws Exception {
        RabbitMqSource source = started(source());
        byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
        // 200 characters, 400 bytes in UTF-8: as long as a readable envelope's aggregate_id may be
        byte[] aggregateId = "\u00e9".repeat(TransportHeaders.MAX_NAME_LENGTH).getBytes(StandardCharsets.UTF_8);
        broker.publishRaw(exchange, "Foreign.Thing", fillingAFrame(Map.of("aggregate_id", aggregateId), "junk", body), body);
        publish(List.of(Messages.message("Order", "o-1", "OrderCreated")));

        await().atMost(WAIT).until(() -> recorder.appliedCount() == 1);
        await().atMost(WAIT).until(() -> broker.ready(source.deadLetterQueue()) == 1);

        GetResponse dead = broker.drain(source.deadLetterQueue()).get(0);
        assertThat(String.valueOf(dead.getProps().getHeaders().get("dead_letter_truncated"))).isEqualTo("headers: junk");
        assertThat(dead.getProps().getHeaders().get("aggregate_id")).isEqualTo(aggregateId);
    }

    /**
     * The properties, message id {@code huge-headers}, of a foreign message of {@code body} with
     * {@code headers} and header {@code padding} long enough that its header frame is 60 bytes short
     * of frame_max: a dead-letter copy with its headers would not fit.
     */
    private AMQP.BasicProperties fillingAFrame(Map<String, Object> headers, String padding, byte[] body) throws Exception {
        int frameMax = broker.frameMax();
        int length = frameMax / 2;
        AMQP.BasicProperties full = null;
        while (full == null || full.toFrame(0, body.length).size() != frameMax - 60) {
            Map<String, Object> all = new HashMap<>(headers);
            all.put(padding, "x".repeat(length));
            full = new AMQP.BasicProperties.Builder().messageId("huge-headers").headers(all).build();
            length += frameMax - 60 - full.toFrame(0, body.length).size();
        }
        return full;
    }

    @Test
    void is_connected_while_consuming_and_not_before_start_nor_after_close() {
        RabbitMqSource source = source().build();
        sources.add(source);
        assertThat(source.isConnected()).isFalse();

        source.start(recorder);
        assertThat(source.isConnected()).isTrue();
        assertThatThrownBy(() -> source.start(recorder)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already started");

        source.close();
        assertThat(source.isConnected()).isFalse();
        source.close();
    }

    @Test
    void a_queue_that_exists_with_other_arguments_stops_the_source_at_start_with_one_clear_error() throws Exception {
        try (Channel channel = broker.channel()) {
            channel.queueDeclare(queue, true, false, false, Map.of());
        }
        RabbitMqSource source = source().build();
        sources.add(source);

        assertThatThrownBy(() -> source.start(recorder)).isInstanceOf(OutboxException.class)
                .hasMessageContaining("RabbitMQ source on queue '" + queue + "' cannot start")
                .hasMessageContaining("inequivalent arg 'x-single-active-consumer'");
    }

    @Test
    void refused_credentials_stop_the_source_at_start_with_one_clear_error_that_never_shows_the_password() {
        String secret = "s3cr3t-NotThePassword";
        RabbitMqSource source = source(Broker.URI.replaceFirst("//[^@]*@", "//guest:" + secret + "@")).build();
        sources.add(source);

        String printed = RabbitMqPublisherTest.printedWhile(() -> assertThatThrownBy(() -> source.start(recorder))
                .isInstanceOf(OutboxException.class)
                .hasMessageStartingWith("RabbitMQ source on queue '" + queue + "' cannot start: amqp://guest@127.0.0.1:")
                .hasMessageContaining("the broker refused the credentials")
                .hasMessageNotContaining(secret));

        assertThat(printed).doesNotContain(secret);
        assertThat(source.isConnected()).isFalse();
    }

    @Test
    void of_two_sources_on_one_queue_one_receives_and_the_other_takes_over_when_it_closes_in_order() throws Exception {
        Recorder second = new Recorder();
        RabbitMqSource first = started(source());
        RabbitMqSource standby = source().build();
        sources.add(standby);
        standby.start(second);
        List<OutboxMessage> before = List.of(Messages.message("Order", "a", "E1"), Messages.message("Order", "a", "E2"));
        publish(before);
        await().atMost(WAIT).until(() -> recorder.appliedCount() == 2);

        first.close();
        List<OutboxMessage> after = List.of(Messages.message("Order", "a", "E3"), Messages.message("Order", "a", "E4"));
        publish(after);
        await().atMost(WAIT).until(() -> second.appliedCount() == 2);

        assertThat(second.applied("Order", "a")).containsExactly(after.get(0).sequence(), after.get(1).sequence());
        assertThat(second.batches.stream().flatMap(List::stream).map(OutboxMessage::id)).doesNotContainAnyElementsOf(
                before.stream().map(OutboxMessage::id).toList());
    }

    @Test
    void a_foreign_message_with_the_documented_headers_reaches_the_receiver_as_an_outbox_message() throws Exception {
        started(source());
        UUID id = UUID.randomUUID();
        Map<String, Object> headers = new HashMap<>();
        headers.put("id", id.toString());
        headers.put("sequence", 7); // a number, as some clients send it
        headers.put("aggregate_type", "Order");
        headers.put("aggregate_id", "o-9");
        headers.put("event_type", "OrderPaid");
        headers.put("created_at", "2026-12-03T10:15:30.123456Z");
        headers.put("trace_id", "t-1");

        broker.publishRaw(exchange, "Order.OrderPaid", new AMQP.BasicProperties.Builder().headers(headers).build(),
                "{\"amount\":1}".getBytes(StandardCharsets.UTF_8));
        await().atMost(WAIT).until(() -> recorder.appliedCount() == 1);

        OutboxMessage got = recorder.batches.get(0).get(0);
        assertThat(got).isEqualTo(new OutboxMessage(id, 7, "Order", "o-9", "OrderPaid", "{\"amount\":1}",
                Map.of("trace_id", "t-1"), Instant.parse("2026-12-03T10:15:30.123456Z"), 1));
    }
}
