package io.outboxkit.kafka;

import static io.outboxkit.kafka.TestKafka.headers;
import static io.outboxkit.kafka.TestKafka.message;
import static io.outboxkit.kafka.TestKafka.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.outboxkit.core.OutboxMessage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The publisher against a real broker: what a confirmed message looks like on Kafka, and what fails alone. */
class KafkaPublisherTest {

    /** A message's write time a week before its delivery (a requeued DEAD one, or a backlog after an outage). */
    private static final Instant CREATED_A_WEEK_AGO = Instant.now().truncatedTo(ChronoUnit.SECONDS)
            .minus(Duration.ofDays(7)).plusNanos(123_456_000);

    private final String aggregateType = "Order-" + UUID.randomUUID().toString().substring(0, 8);
    private final String topic = "outbox.event." + aggregateType;
    private final List<String> created = new ArrayList<>();
    private KafkaPublisher publisher;

    @BeforeEach
    void createTopicAndPublisher() throws Exception {
        created.add(TestKafka.createTopic(topic, 3));
        publisher = KafkaPublisher.builder(TestKafka.bootstrapServers()).maxBlock(Duration.ofSeconds(1)).build();
    }

    @AfterEach
    void cleanUp() {
        publisher.close();
        TestKafka.deleteTopics(created.toArray(String[]::new));
    }

    @Test
    void a_confirmed_message_is_on_its_topic_with_debeziums_key_value_and_id_header_and_the_whole_envelope() throws Exception {
        OutboxMessage sent = new OutboxMessage(UUID.randomUUID(), 42, aggregateType, "order-7", "OrderCreated",
                "{\"order_id\":\"order-7\",\"amount\":100.00,\"note\":\"caf\u00e9\"}", Map.of("trace", "t-1"),
                CREATED_A_WEEK_AGO, 1);

        long beforeSend = System.currentTimeMillis();
        publisher.publish(sent);
        long confirmed = System.currentTimeMillis();

        ConsumerRecord<byte[], byte[]> record = TestKafka.read(topic, 1).get(0);
        assertThat(text(record.key())).isEqualTo("order-7");
        assertThat(new String(record.value(), StandardCharsets.UTF_8)).isEqualTo(sent.payload());
        assertThat(headers(record)).containsExactly(
                Map.entry("id", sent.id().toString()),
                Map.entry("sequence", "42"),
                Map.entry("aggregate_type", aggregateType),
                Map.entry("aggregate_id", "order-7"),
                Map.entry("event_type", "OrderCreated"),
                Map.entry("created_at", CREATED_A_WEEK_AGO.toString()),
                Map.entry("trace", "t-1"));
        assertThat(record.timestamp()).as("the time it was sent, not its created_at (a week old here): a record "
                + "timestamped long ago rolls its segment and falls to the topic's time-based retention at once")
                .isBetween(beforeSend, confirmed);
    }

    @Test
    void a_batch_is_confirmed_as_a_whole_and_each_aggregate_stays_in_order_in_one_partition() throws Exception {
        List<OutboxMessage> batch = new ArrayList<>();
        for (int seq = 1; seq <= 30; seq++) {
            batch.add(message(aggregateType, "agg-" + (seq % 5), seq));
        }

        assertThat(publisher.publishAll(batch)).isEmpty();

        List<ConsumerRecord<byte[], byte[]>> records = TestKafka.read(topic, 30);
        assertThat(records).hasSize(30);
        Map<String, List<ConsumerRecord<byte[], byte[]>>> byKey = records.stream()
                .collect(Collectors.groupingBy(r -> text(r.key())));
        byKey.forEach((key, ofKey) -> {
            assertThat(ofKey).extracting(ConsumerRecord::partition).as("partitions of %s", key).containsOnly(ofKey.get(0).partition());
            assertThat(ofKey).extracting(r -> Long.parseLong(headers(r).get("sequence"))).as("order of %s", key).isSorted();
        });
    }

    @Test
    void a_topic_that_does_not_exist_fails_its_messages_alone_within_max_block_and_the_rest_of_the_batch_is_delivered()
            throws Exception {
        assumeThat(TestKafka.sharedAutoCreatesTopics()).as("the broker creates topics on first use").isFalse();
        String missingType = "Missing-" + UUID.randomUUID().toString().substring(0, 8);
        OutboxMessage good1 = message(aggregateType, "a", 1);
        OutboxMessage lost1 = message(missingType, "b", 2);
        OutboxMessage lost2 = message(missingType, "c", 3);
        OutboxMessage good2 = message(aggregateType, "d", 4);

        long start = System.nanoTime();
        Map<UUID, Exception> failures = publisher.publishAll(List.of(good1, lost1, lost2, good2));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(failures).containsOnlyKeys(lost1.id(), lost2.id());
        assertThat(failures.get(lost1.id())).hasMessage("Kafka topic outbox.event." + missingType + ": not sent, the topic"
                + " was not in the producer's metadata within 1000 ms (maxBlock): the topic does not exist and the broker"
                + " does not create topics on first use (auto.create.topics.enable=false): create it, or change the"
                + " topic template");
        assertThat(took).isLessThan(Duration.ofSeconds(5));
        assertThat(TestKafka.read(topic, 2)).extracting(r -> text(r.key())).containsExactlyInAnyOrder("a", "d");
    }

    @Test
    void a_record_larger_than_the_topic_accepts_fails_alone_and_the_rest_of_its_batch_is_delivered() throws Exception {
        String smallType = "Small-" + UUID.randomUUID().toString().substring(0, 8);
        created.add(TestKafka.createTopic("outbox.event." + smallType, 1, Map.of("max.message.bytes", "2000")));
        OutboxMessage fits = message(smallType, "a", 1);
        OutboxMessage tooLarge = message(smallType, "b", 2, "\"" + "x".repeat(10_000) + "\"");
        OutboxMessage fitsToo = message(smallType, "c", 3);

        Map<UUID, Exception> failures = publisher.publishAll(List.of(fits, tooLarge, fitsToo));

        assertThat(failures).containsOnlyKeys(tooLarge.id());
        assertThat(failures.get(tooLarge.id()).getMessage()).startsWith("Kafka topic outbox.event." + smallType
                + ": the record is too large (").endsWith("); raise max.request.size and the topic's max.message.bytes,"
                + " or make the payload smaller");
        assertThat(TestKafka.read("outbox.event." + smallType, 2)).extracting(r -> text(r.key()))
                .containsExactlyInAnyOrder("a", "c");
    }

    @Test
    void a_record_larger_than_the_producer_sends_fails_alone_before_it_leaves() throws Exception {
        OutboxMessage tooLarge = message(aggregateType, "big", 1, "\"" + "x".repeat(1_100_000) + "\"");
        OutboxMessage small = message(aggregateType, "small", 2);

        Map<UUID, Exception> failures = publisher.publishAll(List.of(tooLarge, small));

        assertThat(failures).containsOnlyKeys(tooLarge.id());
        assertThat(failures.get(tooLarge.id()).getMessage()).contains("the record is too large", "max.request.size");
        assertThat(TestKafka.read(topic, 1)).extracting(r -> text(r.key())).containsExactly("small");
    }

    @Test
    void a_template_that_makes_an_illegal_topic_name_fails_that_message_alone() throws Exception {
        try (KafkaPublisher byEvent = KafkaPublisher.builder(TestKafka.bootstrapServers())
                .topicTemplate("outbox.event.{aggregate_type}").build()) {
            OutboxMessage illegal = message("Order with spaces", "a", 1);
            OutboxMessage fine = message(aggregateType, "b", 2);

            Map<UUID, Exception> failures = byEvent.publishAll(List.of(illegal, fine));

            assertThat(failures).containsOnlyKeys(illegal.id());
            assertThat(failures.get(illegal.id())).hasMessage("the topic 'outbox.event.Order with spaces' (from template"
                    + " outbox.event.{aggregate_type}) is not a legal Kafka topic name: only letters, digits, '.', '_'"
                    + " and '-' are allowed (and not '.' or '..' alone)");
            assertThat(TestKafka.read(topic, 1)).extracting(r -> text(r.key())).containsExactly("b");
        }
    }

    @Test
    void a_template_with_the_event_type_routes_each_event_to_its_own_topic() throws Exception {
        String eventTopic = created.get(0) + ".Event1";
        created.add(TestKafka.createTopic(eventTopic, 1));
        try (KafkaPublisher byEvent = KafkaPublisher.builder(TestKafka.bootstrapServers())
                .topicTemplate("outbox.event.{aggregate_type}.{event_type}").build()) {
            assertThat(byEvent.publishAll(List.of(message(aggregateType, "a", 1)))).isEmpty();
        }
        assertThat(TestKafka.read(eventTopic, 1)).extracting(r -> text(r.key())).containsExactly("a");
    }

    @Test
    void reports_connected_while_the_broker_answers() {
        assertThat(publisher.isConnected()).isTrue();
    }
}
