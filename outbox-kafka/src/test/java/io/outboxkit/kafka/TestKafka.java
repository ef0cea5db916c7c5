package io.outboxkit.kafka;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.devkafka.DevKafkaProcess;
import io.outboxkit.devkafka.TestBrokers;
import io.outboxkit.testing.FreePorts;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The broker the tests run against ({@link TestBrokers#sharedBootstrapServers}: topic
 * auto-creation off, so that the tests of the unknown-topic refusal hold; tests create their
 * topics). Also the tests' plain Kafka tools:
 * topics of their own, and a plain consumer that reads what a topic holds.
 */
final class TestKafka {

    private TestKafka() {
    }

    /** The shared broker's bootstrap servers (see {@link TestBrokers#sharedBootstrapServers}), starting it on first use. */
    static String bootstrapServers() {
        return TestBrokers.sharedBootstrapServers(FreePorts::pick);
    }

    /** Whether the shared broker creates topics on first use (an external one may). */
    static boolean sharedAutoCreatesTopics() throws Exception {
        try (Admin admin = admin(bootstrapServers())) {
            String node = admin.describeCluster().nodes().get().iterator().next().idString();
            var resource = new org.apache.kafka.common.config.ConfigResource(
                    org.apache.kafka.common.config.ConfigResource.Type.BROKER, node);
            return Boolean.parseBoolean(admin.describeConfigs(List.of(resource)).all().get().get(resource)
                    .get("auto.create.topics.enable").value());
        }
    }

    /** A broker of the test's own, on a free port and a fresh data directory (the caller stops it). */
    static DevKafkaProcess startPrivate(boolean autoCreateTopics) {
        return TestBrokers.startPrivate(FreePorts.pick(), autoCreateTopics);
    }

    static Admin admin(String bootstrapServers) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrapServers);
        return Admin.create(p);
    }

    /** A topic name no other test or run uses. */
    static String uniqueTopic(String prefix) {
        return prefix + "." + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Creates {@code topic} on the shared broker. */
    static String createTopic(String topic, int partitions, Map<String, String> configs) throws Exception {
        try (Admin admin = admin(bootstrapServers())) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1).configs(configs))).all()
                    .get(30, TimeUnit.SECONDS);
        }
        return topic;
    }

    static String createTopic(String topic, int partitions) throws Exception {
        return createTopic(topic, partitions, Map.of());
    }

    /** Deletes topics of the shared broker, ignoring those already gone. */
    static void deleteTopics(String... topics) {
        try (Admin admin = admin(bootstrapServers())) {
            admin.deleteTopics(List.of(topics)).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            // already gone, or never created
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads {@code topic} from its start until {@code count} records arrived, or {@code within} passed. */
    static List<ConsumerRecord<byte[], byte[]>> read(String bootstrapServers, String topic, int count, Duration within) {
        return read(bootstrapServers, Map.of(), topic, count, within);
    }

    /** Reads as {@link #read(String, String, int, Duration)} with extra consumer properties (e.g. credentials). */
    static List<ConsumerRecord<byte[], byte[]>> read(String bootstrapServers, Map<String, Object> extra, String topic,
                                                     int count, Duration within) {
        Properties p = new Properties();
        p.putAll(extra);
        p.put("bootstrap.servers", bootstrapServers);
        p.put("group.id", "test-reader-" + UUID.randomUUID());
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + within.toNanos();
            while (records.size() < count && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }

    static List<ConsumerRecord<byte[], byte[]>> read(String topic, int count) {
        return read(bootstrapServers(), topic, count, Duration.ofSeconds(30));
    }

    static String text(byte[] bytes) {
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    /** A record's headers as text, in order (the last of a repeated name wins). */
    static Map<String, String> headers(ConsumerRecord<byte[], byte[]> record) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (Header h : record.headers()) {
            headers.put(h.key(), text(h.value()));
        }
        return headers;
    }

    /** An outbox message as the poller hands it over. */
    static OutboxMessage message(String aggregateType, String aggregateId, long sequence) {
        return message(aggregateType, aggregateId, sequence, "{\"n\":" + sequence + "}");
    }

    static OutboxMessage message(String aggregateType, String aggregateId, long sequence, String payload) {
        return new OutboxMessage(UUID.randomUUID(), sequence, aggregateType, aggregateId, "Event" + sequence, payload,
                Map.of(), Instant.now().truncatedTo(ChronoUnit.MICROS), 1);
    }
}
