package io.outboxkit.kafka;

import static io.outboxkit.kafka.TestKafka.headers;
import static io.outboxkit.kafka.TestKafka.message;
import static io.outboxkit.kafka.TestKafka.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.TransportHeaders;
import io.outboxkit.testing.ChildJvm;
import io.outboxkit.testing.SecondClose;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The source against a real broker: when it acknowledges, what it delivers again, in what order, and what it gives up. */
class KafkaSourceTest {

    private static final Duration DEADLINE = Duration.ofSeconds(60);

    private final String aggregateType = "Order-" + UUID.randomUUID().toString().substring(0, 8);
    private final String topic = "outbox.event." + aggregateType;
    private final String deadLetters = topic + ".dlt";
    private final String group = "consumer-" + UUID.randomUUID().toString().substring(0, 8);
    private final List<KafkaSource> sources = new ArrayList<>();
    private KafkaPublisher publisher;

    @BeforeEach
    void createTopics() throws Exception {
        TestKafka.createTopic(topic, 3);
        TestKafka.createTopic(deadLetters, 1);
        publisher = KafkaPublisher.builder(TestKafka.bootstrapServers()).build();
    }

    @AfterEach
    void cleanUp() throws Exception {
        sources.forEach(KafkaSource::close);
        publisher.close();
        try (Admin admin = TestKafka.admin(TestKafka.bootstrapServers())) {
            admin.deleteConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            // a group that never committed may not exist
        }
        TestKafka.deleteTopics(topic, deadLetters);
    }

    private KafkaSource.Builder source() {
        return KafkaSource.builder(TestKafka.bootstrapServers(), group).topics(List.of(topic)).deadLetterTopic(deadLetters)
                .initialBackoff(Duration.ofMillis(50)).maxBackoff(Duration.ofMillis(200))
                .property("session.timeout.ms", 6000);
    }

    private KafkaSource start(KafkaSource.Builder builder, RecordingReceiver receiver) {
        KafkaSource source = builder.build();
        sources.add(source);
        source.start(receiver);
        return source;
    }

    private List<OutboxMessage> publish(List<OutboxMessage> messages) throws Exception {
        assertThat(publisher.publishAll(messages)).isEmpty();
        return messages;
    }

    /** Sends a record that is no outbox message (no envelope headers) with key "a" and a "trace" header, by a plain producer. */
    /** A record's timestamp a week old (a consumer back after a long stop reads such records). */
    private static final long SENT_A_WEEK_AGO = System.currentTimeMillis() - Duration.ofDays(7).toMillis();

    private void sendForeign(String trace) throws Exception {
        ProducerRecord<String, String> foreign = new ProducerRecord<>(topic, null, SENT_A_WEEK_AGO, "a",
                "{\"not\":\"an outbox message\"}");
        foreign.headers().add("trace", trace.getBytes(StandardCharsets.UTF_8));
        sendPlain(foreign);
    }

    /** Sends {@code message} as the publisher would, with one more header of raw bytes, by a plain producer. */
    private void sendWithHeader(OutboxMessage message, String name, byte[] value) throws Exception {
        ProducerRecord<String, String> record = new ProducerRecord<>(topic, message.aggregateId(), message.payload());
        TransportHeaders.write(message).forEach((key, text) -> record.headers().add(key, text.getBytes(StandardCharsets.UTF_8)));
        record.headers().add(name, value);
        sendPlain(record);
    }

    private void sendPlain(ProducerRecord<String, String> record) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", TestKafka.bootstrapServers());
        p.put("key.serializer", StringSerializer.class.getName());
        p.put("value.serializer", StringSerializer.class.getName());
        try (KafkaProducer<String, String> plain = new KafkaProducer<>(p)) {
            plain.send(record).get(30, TimeUnit.SECONDS);
        }
    }

    private long committedTotal() throws Exception {
        try (Admin admin = TestKafka.admin(TestKafka.bootstrapServers())) {
            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            return offsets.values().stream().filter(o -> o != null).mapToLong(OffsetAndMetadata::offset).sum();
        }
    }

    @Test
    void a_receiver_that_throws_an_error_ends_the_receiving_thread_and_the_source_is_no_longer_alive() throws Exception {
        KafkaSource source = source().build();
        sources.add(source);
        assertThat(source.isAlive()).as("not started: nothing has ended").isTrue();
        source.start(batch -> {
            throw new StackOverflowError("a bug in the receiver");
        });
        assertThat(source.isAlive()).isTrue();

        publish(List.of(message(aggregateType, "a", 1)));

        // The Error is the test's own, expected to end the thread: not a failure of the test.
        await().dontCatchUncaughtExceptions().atMost(DEADLINE).until(() -> !source.isAlive());
        assertThat(source.isConnected()).isFalse();
        source.close();
        assertThat(source.isAlive()).as("closed: stopped by design").isTrue();
    }

    @Test
    void is_alive_answers_while_start_is_still_building_the_client() throws Exception {
        // start() holds its lock while it builds the KafkaConsumer (resolving the bootstrap servers' names, which may
        // be slow); the interceptor holds that build here, and a liveness probe must not wait for it.
        KafkaSource source = source().property("interceptor.classes", HeldInterceptor.class.getName()).build();
        sources.add(source);
        Thread starting = new Thread(() -> source.start(batch -> Map.of()), "starting-kafka-source");
        starting.start();
        try {
            assertThat(HeldInterceptor.building.await(DEADLINE.toSeconds(), TimeUnit.SECONDS)).as("start() is building")
                    .isTrue();
            CompletableFuture<Boolean> alive = CompletableFuture.supplyAsync(source::isAlive);
            assertThat(alive.get(10, TimeUnit.SECONDS)).as("answered while start() holds its lock").isTrue();
        } finally {
            HeldInterceptor.release.countDown();
            starting.join(DEADLINE.toMillis());
        }
        assertThat(starting.isAlive()).as("start() returned once the build went on").isFalse();
    }

    /** Holds the first client built with it in its configure() until released: a slow build of the client. */
    public static final class HeldInterceptor implements ConsumerInterceptor<byte[], byte[]>,
            ProducerInterceptor<byte[], byte[]> {
        static final CountDownLatch building = new CountDownLatch(1);
        static final CountDownLatch release = new CountDownLatch(1);

        @Override
        public void configure(Map<String, ?> configs) {
            building.countDown();
            try {
                release.await(DEADLINE.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public ConsumerRecords<byte[], byte[]> onConsume(ConsumerRecords<byte[], byte[]> records) {
            return records;
        }

        @Override
        public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
        }

        @Override
        public ProducerRecord<byte[], byte[]> onSend(ProducerRecord<byte[], byte[]> record) {
            return record;
        }

        @Override
        public void onAcknowledgement(RecordMetadata metadata, Exception exception) {
        }

        @Override
        public void close() {
        }
    }

    @Test
    void hands_over_each_message_as_published_and_acknowledges_a_batch_only_after_the_receiver_returned() throws Exception {
        List<OutboxMessage> sent = publish(List.of(message(aggregateType, "a", 1), message(aggregateType, "b", 2),
                message(aggregateType, "c", 3)));
        CountDownLatch release = new CountDownLatch(1);
        List<OutboxMessage> received = new java.util.concurrent.CopyOnWriteArrayList<>();
        KafkaSource source = source().build();
        sources.add(source);
        source.start(batch -> {
            received.addAll(batch);
            release.await();
            return Map.of();
        });

        await().atMost(DEADLINE).until(() -> received.size() == 3);
        assertThat(committedTotal()).isZero();

        release.countDown();
        await().atMost(DEADLINE).until(() -> committedTotal() == 3);
        assertThat(received).usingRecursiveFieldByFieldElementComparatorIgnoringFields("attempts")
                .containsExactlyInAnyOrderElementsOf(sent);
        assertThat(received).extracting(OutboxMessage::attempts).containsOnly(1);
    }

    @Test
    void a_message_the_receiver_fails_comes_again_and_holds_back_the_rest_of_its_aggregate_meanwhile() throws Exception {
        List<OutboxMessage> sent = publish(List.of(message(aggregateType, "a", 1), message(aggregateType, "a", 2),
                message(aggregateType, "b", 3)));
        OutboxMessage a1 = sent.get(0);
        AtomicInteger a1Failures = new AtomicInteger();
        RecordingReceiver receiver = new RecordingReceiver(m -> m.id().equals(a1.id()) && a1Failures.incrementAndGet() <= 2
                ? "not yet" : null);

        start(source(), receiver);

        await().atMost(DEADLINE).until(() -> receiver.applied.size() == 3);
        assertThat(receiver.deliveriesOf(a1.id())).extracting(OutboxMessage::attempts).containsExactly(1, 2, 3);
        assertThat(receiver.applied).extracting(OutboxMessage::sequence).containsSubsequence(1L, 2L);
        assertThat(receiver.deliveriesOf(sent.get(1).id())).hasSize(1);
        assertThat(receiver.deliveriesOf(sent.get(2).id())).hasSize(1);
        await().atMost(DEADLINE).until(() -> committedTotal() == 3);
    }

    @Test
    void a_receiver_that_throws_gets_the_whole_batch_again() throws Exception {
        List<OutboxMessage> sent = publish(List.of(message(aggregateType, "a", 1), message(aggregateType, "b", 2)));
        AtomicInteger calls = new AtomicInteger();
        Set<UUID> applied = ConcurrentHashMap.newKeySet();
        KafkaSource source = source().build();
        sources.add(source);
        source.start(batch -> {
            if (calls.incrementAndGet() == 1) {
                throw new IllegalStateException("database unavailable");
            }
            batch.forEach(m -> applied.add(m.id()));
            return Map.of();
        });

        await().atMost(DEADLINE).until(() -> applied.size() == 2);
        assertThat(applied).containsExactlyInAnyOrder(sent.get(0).id(), sent.get(1).id());
        assertThat(calls.get()).isGreaterThan(1);
        await().atMost(DEADLINE).until(() -> committedTotal() == 2);
    }

    @Test
    void a_receiver_that_returns_null_instead_of_its_failures_gets_the_whole_batch_again() throws Exception {
        List<OutboxMessage> sent = publish(List.of(message(aggregateType, "a", 1), message(aggregateType, "b", 2)));
        Map<UUID, Integer> deliveries = new ConcurrentHashMap<>();
        KafkaSource source = source().build();
        sources.add(source);
        source.start(batch -> {
            batch.forEach(m -> deliveries.merge(m.id(), 1, Integer::sum));
            // null, not a map of failures, for any batch that hands a message over for the first time
            return batch.stream().anyMatch(m -> deliveries.get(m.id()) == 1) ? null : Map.of();
        });

        await().atMost(DEADLINE).until(() -> sent.stream().allMatch(m -> deliveries.getOrDefault(m.id(), 0) >= 2)
                || committedTotal() == 2);
        assertThat(sent).as("every message of the batch the receiver returned null for was delivered again")
                .allSatisfy(m -> assertThat(deliveries.get(m.id())).isGreaterThanOrEqualTo(2));
        await().atMost(DEADLINE).until(() -> committedTotal() == 2);
    }

    @Test
    void order_per_aggregate_holds_end_to_end_with_failures_in_between() throws Exception {
        List<OutboxMessage> sent = new ArrayList<>();
        for (int seq = 1; seq <= 200; seq++) {
            sent.add(message(aggregateType, "agg-" + (seq % 10), seq));
        }
        publish(sent);
        Random random = new Random(16);
        RecordingReceiver receiver = new RecordingReceiver(m -> {
            synchronized (random) {
                return random.nextInt(5) == 0 ? "unlucky" : null;
            }
        });

        start(source().maxAttempts(100), receiver);

        await().atMost(DEADLINE).until(() -> receiver.applied.size() == 200);
        Map<String, List<Long>> appliedByAggregate = receiver.applied.stream().collect(Collectors.groupingBy(
                OutboxMessage::aggregateId, Collectors.mapping(OutboxMessage::sequence, Collectors.toList())));
        Map<String, List<Long>> sentByAggregate = sent.stream().collect(Collectors.groupingBy(
                OutboxMessage::aggregateId, Collectors.mapping(OutboxMessage::sequence, Collectors.toList())));
        assertThat(appliedByAggregate).isEqualTo(sentByAggregate);
        assertThat(receiver.batches).allSatisfy(batch -> assertThat(batch).extracting(OutboxMessage::aggregateId)
                .doesNotHaveDuplicates());
    }

    @Test
    void an_unreadable_record_goes_to_the_dead_letter_topic_at_once_with_its_error_and_the_rest_goes_on() throws Exception {
        long started = System.currentTimeMillis();
        sendForeign("t-9");
        OutboxMessage good = publish(List.of(message(aggregateType, "a", 2))).get(0);
        RecordingReceiver receiver = RecordingReceiver.applyingAll();

        start(source(), receiver);

        await().atMost(DEADLINE).until(() -> receiver.applied.size() == 1);
        assertThat(receiver.applied).extracting(OutboxMessage::id).containsExactly(good.id());
        ConsumerRecord<byte[], byte[]> dead = TestKafka.read(deadLetters, 1).get(0);
        assertThat(text(dead.key())).isEqualTo("a");
        assertThat(text(dead.value())).isEqualTo("{\"not\":\"an outbox message\"}");
        assertThat(headers(dead)).containsEntry("trace", "t-9")
                .containsEntry("dead_letter_error", "unreadable outbox message: header id is missing")
                .containsEntry("dead_letter_topic", topic)
                .containsEntry("dead_letter_consumer", group)
                .containsEntry("dead_letter_attempts", "0")
                .containsEntry("dead_letter_timestamp", Long.toString(SENT_A_WEEK_AGO))
                .containsKeys("dead_letter_partition", "dead_letter_offset");
        assertThat(dead.timestamp()).as("the copy's own time: one timestamped a week ago would fall to the "
                + "dead-letter topic's time-based retention at once").isBetween(started, System.currentTimeMillis());
        await().atMost(DEADLINE).until(() -> committedTotal() == 2);
    }

    @Test
    void a_trace_header_that_is_not_utf8_is_left_out_and_the_message_applied_while_any_other_such_header_is_unreadable()
            throws Exception {
        byte[] binary = {(byte) 0xff, (byte) 0xfe, 0x00, 0x01};
        OutboxMessage traced = message(aggregateType, "a", 1).withHeaders(Map.of("tenant", "acme"));
        OutboxMessage other = message(aggregateType, "b", 2);
        sendWithHeader(traced, "traceparent", binary);
        sendWithHeader(other, "tenant", binary);
        RecordingReceiver receiver = RecordingReceiver.applyingAll();

        start(source(), receiver);

        await().atMost(DEADLINE).until(() -> receiver.applied.size() == 1);
        assertThat(receiver.applied.get(0).id()).isEqualTo(traced.id());
        assertThat(receiver.applied.get(0).headers()).containsEntry("tenant", "acme").doesNotContainKey("traceparent");
        ConsumerRecord<byte[], byte[]> dead = TestKafka.read(deadLetters, 1).get(0);
        assertThat(headers(dead)).containsEntry("id", other.id().toString())
                .containsEntry("dead_letter_error", "unreadable outbox message: header tenant is not UTF-8 text");
    }

    @Test
    void a_record_too_large_for_the_dead_letter_topic_with_its_headers_goes_there_without_them_and_holds_up_nothing()
            throws Exception {
        String small = TestKafka.createTopic(topic + ".small-dlt", 1, Map.of("max.message.bytes", "2000"));
        try {
            sendForeign("t".repeat(1_800));
            OutboxMessage good = publish(List.of(message(aggregateType, "a", 2))).get(0);
            RecordingReceiver receiver = RecordingReceiver.applyingAll();

            start(source().deadLetterTopic(small), receiver);

            await().atMost(DEADLINE).until(() -> receiver.applied.size() == 1);
            assertThat(receiver.applied).extracting(OutboxMessage::id).containsExactly(good.id());
            ConsumerRecord<byte[], byte[]> dead = TestKafka.read(small, 1).get(0);
            assertThat(headers(dead)).doesNotContainKey("trace").containsEntry("dead_letter_topic", topic)
                    .containsEntry("dead_letter_truncated", "headers: trace");
            assertThat(TestKafka.text(dead.value())).isEqualTo("{\"not\":\"an outbox message\"}");
            assertThat(headers(dead).get("dead_letter_error")).startsWith("unreadable outbox message: header id is missing");
        } finally {
            TestKafka.deleteTopics(small);
        }
    }

    @Test
    void a_short_dead_letter_copy_keeps_an_envelope_header_of_at_most_its_limit_in_characters_not_bytes()
            throws Exception {
        String small = TestKafka.createTopic(topic + ".small-dlt", 1, Map.of("max.message.bytes", "2000"));
        try {
            String aggregate = "\u00e9".repeat(TransportHeaders.MAX_NAME_LENGTH); // twice as many UTF-8 bytes
            ProducerRecord<String, String> foreign = new ProducerRecord<>(topic, null, SENT_A_WEEK_AGO, "a",
                    "{\"not\":\"an outbox message\"}");
            foreign.headers().add("trace", "t".repeat(1_600).getBytes(StandardCharsets.UTF_8));
            foreign.headers().add(TransportHeaders.AGGREGATE_ID, aggregate.getBytes(StandardCharsets.UTF_8));
            sendPlain(foreign);
            RecordingReceiver receiver = RecordingReceiver.applyingAll();

            start(source().deadLetterTopic(small), receiver);

            ConsumerRecord<byte[], byte[]> dead = TestKafka.read(small, 1).get(0);
            assertThat(headers(dead)).containsEntry(TransportHeaders.AGGREGATE_ID, aggregate)
                    .containsEntry("dead_letter_truncated", "headers: trace");
        } finally {
            TestKafka.deleteTopics(small);
        }
    }

    @Test
    void a_record_near_the_size_limit_that_keeps_failing_is_dead_lettered_short_and_its_aggregate_moves_on()
            throws Exception {
        OutboxMessage poison = null;
        // the largest record the publisher takes under the default max.request.size of 1 MiB
        for (int length = 1024 * 1024 - 100; length > 0 && poison == null; length -= 10) {
            OutboxMessage candidate = new OutboxMessage(UUID.randomUUID(), 1, aggregateType, "a", "Event1",
                    "\"" + "x".repeat(length) + "\"", Map.of("tenant", "acme"), Instant.now().truncatedTo(ChronoUnit.MICROS), 1);
            if (publisher.publishAll(List.of(candidate)).isEmpty()) {
                poison = candidate;
            }
        }
        assertThat(poison).isNotNull();
        OutboxMessage next = publish(List.of(message(aggregateType, "a", 2))).get(0);
        OutboxMessage failing = poison;
        // an error as long as the consumer's own payload errors are
        String error = "payload of OrderCreated message " + failing.id() + " is invalid: " + "y".repeat(250);
        RecordingReceiver receiver = new RecordingReceiver(m -> m.id().equals(failing.id()) ? error : null);

        start(source().maxAttempts(2), receiver);

        await().atMost(DEADLINE).until(() -> receiver.deliveriesOf(failing.id()).size() >= 4 || receiver.applied.size() == 1);
        assertThat(receiver.deadLettered).as("deliveries so far: " + receiver.deliveriesOf(failing.id()).size())
                .contains(failing.id().toString());
        await().atMost(DEADLINE).until(() -> receiver.applied.size() == 1);
        assertThat(receiver.applied.get(0).id()).isEqualTo(next.id());
        ConsumerRecord<byte[], byte[]> dead = TestKafka.read(deadLetters, 1).get(0);
        assertThat(dead.value()).as("the value, dropped: empty, not a tombstone").isNotNull().isEmpty();
        assertThat(headers(dead)).containsEntry("id", failing.id().toString()).containsEntry("aggregate_id", "a")
                .containsEntry("dead_letter_topic", topic).containsEntry("dead_letter_attempts", "2")
                .containsEntry("dead_letter_truncated", "body; headers: tenant").doesNotContainKey("tenant");
        assertThat(headers(dead).get("dead_letter_error")).contains("payload of OrderCreated message " + failing.id());
    }

    @Test
    void a_long_error_is_cut_in_the_dead_letter_copy_without_splitting_a_character() throws Exception {
        OutboxMessage poison = publish(List.of(message(aggregateType, "a", 1))).get(0);
        // after "failed 1 times, last: ", the 4000th character is the first half of a surrogate pair
        RecordingReceiver receiver = new RecordingReceiver(m -> "a" + "\uD83D\uDE00".repeat(2500));

        start(source().maxAttempts(1), receiver);

        ConsumerRecord<byte[], byte[]> dead = TestKafka.read(deadLetters, 1).get(0);
        assertThat(headers(dead)).containsEntry("id", poison.id().toString())
                .containsEntry("dead_letter_error", "failed 1 times, last: a" + "\uD83D\uDE00".repeat(1988) + "...");
    }

    @Test
    void a_message_the_receiver_keeps_failing_goes_to_the_dead_letter_topic_with_its_error_and_its_aggregate_moves_on()
            throws Exception {
        List<OutboxMessage> sent = publish(List.of(message(aggregateType, "a", 1), message(aggregateType, "a", 2)));
        OutboxMessage poison = sent.get(0);
        RecordingReceiver receiver = new RecordingReceiver(m -> m.id().equals(poison.id()) ? "amount is negative" : null);

        start(source().maxAttempts(3), receiver);

        await().atMost(DEADLINE).until(() -> receiver.applied.size() == 1);
        assertThat(receiver.applied).extracting(OutboxMessage::id).containsExactly(sent.get(1).id());
        assertThat(receiver.deliveriesOf(poison.id())).extracting(OutboxMessage::attempts).containsExactly(1, 2, 3);
        ConsumerRecord<byte[], byte[]> dead = TestKafka.read(deadLetters, 1).get(0);
        assertThat(headers(dead)).containsEntry("id", poison.id().toString())
                .containsEntry("sequence", "1")
                .containsEntry("dead_letter_error", "failed 3 times, last: amount is negative")
                .containsEntry("dead_letter_attempts", "3");
        assertThat(text(dead.value())).isEqualTo(poison.payload());
    }

    @Test
    void the_receiver_is_told_once_of_each_record_dead_lettered_unreadable_or_after_max_attempts() throws Exception {
        sendForeign("t-1");
        List<OutboxMessage> sent = publish(List.of(message(aggregateType, "b", 1), message(aggregateType, "b", 2)));
        OutboxMessage poison = sent.get(0);
        RecordingReceiver receiver = new RecordingReceiver(m -> m.id().equals(poison.id()) ? "amount is negative" : null);

        start(source().maxAttempts(2), receiver);

        await().atMost(DEADLINE).until(() -> receiver.applied.size() == 1 && receiver.deadLettered.size() == 2);
        OutboxMessage later = publish(List.of(message(aggregateType, "c", 3))).get(0);
        await().atMost(DEADLINE).until(() -> receiver.applied.stream().anyMatch(m -> m.id().equals(later.id())));
        assertThat(receiver.deadLettered).containsExactly("unreadable", poison.id().toString());
        assertThat(TestKafka.read(deadLetters, 2)).hasSize(2);
    }

    @Test
    void a_message_listed_as_failed_without_an_exception_comes_again_and_goes_to_the_dead_letter_topic_after_max_attempts()
            throws Exception {
        List<OutboxMessage> sent = publish(List.of(message(aggregateType, "a", 1), message(aggregateType, "a", 2)));
        OutboxMessage failing = sent.get(0);
        List<OutboxMessage> deliveries = new CopyOnWriteArrayList<>();
        Set<UUID> applied = ConcurrentHashMap.newKeySet();
        KafkaSource source = source().maxAttempts(2).build();
        sources.add(source);
        source.start(batch -> {
            Map<UUID, Exception> failures = new HashMap<>();
            for (OutboxMessage m : batch) {
                if (m.id().equals(failing.id())) {
                    deliveries.add(m);
                    failures.put(m.id(), null); // "this one failed", no exception at hand
                } else {
                    applied.add(m.id());
                }
            }
            return failures;
        });

        await().atMost(DEADLINE).until(() -> applied.contains(sent.get(1).id()));
        assertThat(deliveries).as("not counted done after its first failure").extracting(OutboxMessage::attempts)
                .containsExactly(1, 2);
        ConsumerRecord<byte[], byte[]> dead = TestKafka.read(deadLetters, 1).get(0);
        assertThat(headers(dead)).containsEntry("id", failing.id().toString()).containsEntry("dead_letter_error",
                "failed 2 times, last: the receiver listed message " + failing.id() + " as failed without an exception");
        await().atMost(DEADLINE).until(() -> committedTotal() == 2);
    }

    @Test
    void a_dead_lettered_message_is_not_handed_over_again_after_a_restart_behind_the_later_ones_of_its_aggregate()
            throws Exception {
        String oneType = "One-" + UUID.randomUUID().toString().substring(0, 8);
        String oneTopic = "outbox.event." + oneType;
        TestKafka.createTopic(oneTopic, 1); // three aggregates in one partition
        try {
            List<OutboxMessage> sent = new ArrayList<>();
            for (OutboxMessage m : List.of(message(oneType, "a", 1), message(oneType, "b", 2), message(oneType, "b", 3))) {
                sent.addAll(publish(List.of(m))); // one at a time: y0, x1, x2 in this order in the partition
            }
            OutboxMessage y0 = sent.get(0);
            OutboxMessage x1 = sent.get(1);
            OutboxMessage x2 = sent.get(2);
            // First run: x1 fails and is dead-lettered (maxAttempts 1), x2 then applied; y0 not done when the source
            // stops (the batches holding it thrown on), so the partition's offset stays at y0.
            RecordingReceiver first = new RecordingReceiver(m -> m.id().equals(x1.id()) ? "not yet" : null);
            KafkaSource firstSource = source().topics(List.of(oneTopic)).maxAttempts(1).maxBatchSize(1).build();
            firstSource.start(batch -> {
                if (batch.stream().anyMatch(m -> m.id().equals(y0.id()))) {
                    throw new IllegalStateException("database down");
                }
                return first.receive(batch);
            });
            await().atMost(DEADLINE).until(() -> first.applied.stream().anyMatch(m -> m.id().equals(x2.id())));
            assertThat(TestKafka.read(deadLetters, 1)).hasSize(1);
            firstSource.close();

            // Second run (a restart): x1's cause is gone, nothing fails any more.
            RecordingReceiver second = RecordingReceiver.applyingAll();
            start(source().topics(List.of(oneTopic)), second);
            await().atMost(DEADLINE).until(() -> second.applied.stream().anyMatch(m -> m.id().equals(x2.id())));

            assertThat(first.applied.stream().map(OutboxMessage::id).toList()).as("applied in the first run")
                    .containsExactly(x2.id());
            assertThat(second.deliveriesOf(x1.id())).as("x1, dead-lettered in the first run, handed over again after x2 "
                    + "was applied").isEmpty();
        } finally {
            TestKafka.deleteTopics(oneTopic);
        }
    }

    @Test
    void a_message_received_but_not_acknowledged_when_the_consumer_is_killed_is_delivered_again() throws Exception {
        OutboxMessage sent = publish(List.of(message(aggregateType, "a", 1))).get(0);
        try (ChildJvm child = ChildJvm.start(SourceChild.class.getName(), Map.of(), List.of(),
                TestKafka.bootstrapServers(), topic, group)) {
            assertThat(child.awaitOutput("RECEIVED " + sent.id(), DEADLINE)).as(child::output).isTrue();
        } // SIGKILL while the receiver holds the message

        RecordingReceiver receiver = RecordingReceiver.applyingAll();
        start(source(), receiver);

        await().atMost(DEADLINE).until(() -> receiver.applied.size() == 1);
        assertThat(receiver.applied).extracting(OutboxMessage::id).containsExactly(sent.id());
    }

    @Test
    void a_message_dead_lettered_by_a_replica_killed_within_its_commit_interval_is_not_handed_over_again_behind_the_later_ones_of_its_aggregate()
            throws Exception {
        OutboxMessage w0 = message(aggregateType, "a", 1);
        OutboxMessage x1 = message(aggregateType, "b", 2);
        OutboxMessage x2 = message(aggregateType, "b", 3);
        publish(List.of(w0));
        try (ChildJvm child = ChildJvm.start(DeadLetterChild.class.getName(), Map.of(), List.of(),
                TestKafka.bootstrapServers(), topic, group, x1.id().toString())) {
            assertThat(child.awaitOutput("APPLIED " + w0.id(), DEADLINE)).as(child::output).isTrue();
            publish(List.of(x1));
            publish(List.of(x2)); // after x1 in the partition of aggregate b
            // x1 fails once (maxAttempts 1): dead-lettered; then x2, the next of aggregate b, is applied.
            assertThat(child.awaitOutput("APPLIED " + x2.id(), DEADLINE)).as(child::output).isTrue();
            assertThat(TestKafka.read(deadLetters, 1)).hasSize(1);
        } // SIGKILL within the child's commit interval of a minute

        RecordingReceiver survivor = RecordingReceiver.applyingAll();
        start(source(), survivor);
        await().atMost(DEADLINE).until(() -> survivor.applied.stream().anyMatch(m -> m.id().equals(x2.id())));

        assertThat(survivor.deliveriesOf(x1.id())).as("x1, dead-lettered by the killed replica, handed over again after "
                + "x2 was applied").isEmpty();
    }

    @Test
    void a_replica_joining_the_group_does_not_give_a_failing_message_max_attempts_anew() throws Exception {
        String oneType = "One-" + UUID.randomUUID().toString().substring(0, 8);
        String oneTopic = "outbox.event." + oneType;
        TestKafka.createTopic(oneTopic, 1);
        try {
            List<OutboxMessage> sent = new ArrayList<>();
            for (OutboxMessage m : List.of(message(oneType, "a", 1), message(oneType, "a", 2))) {
                sent.addAll(publish(List.of(m)));
            }
            OutboxMessage poison = sent.get(0);
            RecordingReceiver receiver = new RecordingReceiver(m -> m.id().equals(poison.id()) ? "amount is negative" : null);
            // An eager assignor (the default's first) revokes every partition when a member joins; it gives the
            // one partition to the first member by id, which the client ids make the first replica.
            KafkaSource.Builder replica = source().topics(List.of(oneTopic)).maxAttempts(4)
                    .initialBackoff(Duration.ofMillis(1500)).maxBackoff(Duration.ofMillis(1500))
                    .property("partition.assignment.strategy", RangeAssignor.class.getName());
            start(replica.property("client.id", "a-replica"), receiver);
            await().atMost(DEADLINE).until(() -> receiver.deliveriesOf(poison.id()).size() >= 2);
            start(replica.property("client.id", "b-replica"), receiver); // scaled up: the group rebalances

            await().atMost(DEADLINE).until(() -> receiver.applied.stream().anyMatch(m -> m.id().equals(sent.get(1).id())));
            Map<String, String> dead = headers(TestKafka.read(deadLetters, 1).get(0));
            assertThat(dead).containsEntry("id", poison.id().toString()).containsEntry("dead_letter_attempts", "4");
            assertThat(receiver.deliveriesOf(poison.id())).as("the receiver's failures of the message before it was "
                    + "dead-lettered (maxAttempts 4)").extracting(OutboxMessage::attempts).containsExactly(1, 2, 3, 4);
        } finally {
            sources.forEach(KafkaSource::close);
            sources.clear();
            TestKafka.deleteTopics(oneTopic);
        }
    }

    /** A source over 2 messages whose receiver has its first batch and holds it until {@code release}. */
    private KafkaSource holdingItsFirstBatch(CountDownLatch release) throws Exception {
        publish(List.of(message(aggregateType, "a", 1), message(aggregateType, "b", 2)));
        CountDownLatch inReceiver = new CountDownLatch(1);
        KafkaSource source = source().build();
        sources.add(source);
        source.start(batch -> {
            inReceiver.countDown();
            release.await();
            return Map.of();
        });
        assertThat(inReceiver.await(DEADLINE.toSeconds(), TimeUnit.SECONDS)).isTrue();
        return source;
    }

    @Test
    void close_finishes_the_batch_in_hand_and_acknowledges_it() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        KafkaSource source = holdingItsFirstBatch(release);
        assertThat(source.isConnected()).isTrue();

        Thread closing = new Thread(source::close);
        closing.start();
        release.countDown();
        closing.join(DEADLINE.toMillis());

        assertThat(closing.isAlive()).isFalse();
        assertThat(committedTotal()).isEqualTo(2);
        assertThat(source.isConnected()).isFalse();
    }

    @Test
    void a_close_called_while_another_is_under_way_returns_only_once_the_batch_in_hand_is_committed() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        KafkaSource source = holdingItsFirstBatch(release);

        long committed = SecondClose.sees(source::close, () -> !source.isConnected(), release::countDown,
                this::committedTotal);
        assertThat(committed).as("offsets committed when the second close() returned").isEqualTo(2);
    }

    @Test
    void close_called_from_the_receiver_returns_at_once_and_the_loop_commits_that_batch_then_ends() throws Exception {
        publish(List.of(message(aggregateType, "a", 1), message(aggregateType, "b", 2)));
        RecordingReceiver receiver = RecordingReceiver.applyingAll();
        AtomicReference<KafkaSource> self = new AtomicReference<>();
        AtomicReference<Thread> receiverThread = new AtomicReference<>();
        CompletableFuture<Boolean> interruptedAfterClose = new CompletableFuture<>();
        KafkaSource source = source().maxBatchSize(1).build();
        sources.add(source);
        self.set(source);
        source.start(batch -> {
            receiverThread.set(Thread.currentThread());
            self.get().close();
            interruptedAfterClose.complete(Thread.currentThread().isInterrupted());
            return receiver.receive(batch);
        });

        // Well under CLOSE_TIMEOUT (30 s), which a close that waited for its own thread would wait out.
        assertThat(interruptedAfterClose.get(10, TimeUnit.SECONDS)).as("the receiver's thread interrupted").isFalse();
        await().atMost(DEADLINE).until(() -> !receiverThread.get().isAlive());
        assertThat(receiver.batches).as("batches handed over: the one in hand when close() was called").hasSize(1);
        assertThat(receiver.applied).hasSize(1);
        assertThat(committedTotal()).as("offsets committed: that batch's").isEqualTo(1);
        assertThat(source.isConnected()).isFalse();
    }

    @Test
    void a_close_called_while_the_receivers_own_close_is_under_way_returns_only_once_its_batch_is_committed()
            throws Exception {
        publish(List.of(message(aggregateType, "a", 1), message(aggregateType, "b", 2)));
        AtomicReference<KafkaSource> self = new AtomicReference<>();
        CountDownLatch closedByReceiver = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        KafkaSource source = source().maxBatchSize(1).build();
        sources.add(source);
        self.set(source);
        source.start(batch -> {
            self.get().close();
            closedByReceiver.countDown();
            release.await();
            return Map.of();
        });
        assertThat(closedByReceiver.await(DEADLINE.toSeconds(), TimeUnit.SECONDS)).isTrue();

        long committed = SecondClose.sees(source::close, release::countDown, this::committedTotal);

        assertThat(committed).as("offsets committed when the second close() returned: the receiver's batch").isEqualTo(1);
    }

    @Test
    void offsets_done_within_the_commit_interval_are_committed_once_it_has_passed_without_another_message()
            throws Exception {
        RecordingReceiver receiver = RecordingReceiver.applyingAll();
        start(source().commitInterval(Duration.ofSeconds(2)), receiver);
        publish(List.of(message(aggregateType, "a", 1)));
        await().atMost(DEADLINE).until(() -> receiver.applied.size() == 1);
        await().atMost(DEADLINE).until(() -> committedTotal() == 1);

        publish(List.of(message(aggregateType, "b", 2), message(aggregateType, "c", 3)));

        await().atMost(DEADLINE).until(() -> receiver.applied.size() == 3);
        await().atMost(DEADLINE).until(() -> committedTotal() == 3);
    }

    @Test
    void offsets_the_commit_interval_held_back_are_committed_when_the_source_stops() throws Exception {
        RecordingReceiver receiver = RecordingReceiver.applyingAll();
        KafkaSource source = start(source().commitInterval(Duration.ofMinutes(1)), receiver);
        publish(List.of(message(aggregateType, "a", 1)));
        await().atMost(DEADLINE).until(() -> receiver.applied.size() == 1);
        await().atMost(DEADLINE).until(() -> committedTotal() == 1);
        publish(List.of(message(aggregateType, "b", 2), message(aggregateType, "c", 3)));
        await().atMost(DEADLINE).until(() -> receiver.applied.size() == 3);
        assertThat(committedTotal()).as("within the minute, the first commit only").isEqualTo(1);

        source.close();

        assertThat(committedTotal()).isEqualTo(3);
    }

    @Test
    void a_topic_that_matches_the_pattern_and_is_created_after_the_start_is_read_from_its_beginning() throws Exception {
        String prefix = "late-" + UUID.randomUUID().toString().substring(0, 8);
        RecordingReceiver receiver = RecordingReceiver.applyingAll();
        start(KafkaSource.builder(TestKafka.bootstrapServers(), group).topicPattern(prefix.replace("-", "\\-") + "\\..*")
                .deadLetterTopic(deadLetters), receiver);
        String late = TestKafka.createTopic(prefix + ".Order", 1);
        try (KafkaPublisher toLate = KafkaPublisher.builder(TestKafka.bootstrapServers()).topicTemplate(late).build()) {
            assertThat(toLate.publishAll(List.of(message(aggregateType, "a", 1)))).isEmpty();

            await().atMost(DEADLINE).until(() -> receiver.applied.size() == 1);
        } finally {
            TestKafka.deleteTopics(late);
        }
    }
}
