package io.outboxkit.system.brokers;

import io.outboxkit.devkafka.DevKafkaProcess;
import io.outboxkit.devkafka.TestBrokers;
import io.outboxkit.testing.FreePorts;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Kafka for a system test: the shared test broker ({@link TestBrokers#sharedBootstrapServers}:
 * {@code KAFKA_BOOTSTRAP_SERVERS}, else a dev-kafka of this JVM), or a dev-kafka of the test's own
 * that it can kill; a topic template and a consumer group named for the test. The topic of the
 * order service's aggregate ({@value #AGGREGATE_TYPE}) is created up front with three partitions,
 * so that order per aggregate rests on the key, not on a single partition.
 */
public final class KafkaBroker implements SystemBroker {

    /** The one aggregate type the order service writes. */
    public static final String AGGREGATE_TYPE = "Order";
    private static final int PARTITIONS = 3;

    private final DevKafkaProcess own;
    private final String bootstrap;
    private final String prefix = SystemBroker.uniqueName("systest.");
    private final String consumer = SystemBroker.uniqueName("systest-");

    private KafkaBroker(DevKafkaProcess own, String bootstrap) throws Exception {
        this.own = own;
        this.bootstrap = bootstrap;
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(prefix + "." + AGGREGATE_TYPE, PARTITIONS, (short) 1))).all()
                    .get(60, TimeUnit.SECONDS);
        }
    }

    /** Topics of the test's own on the broker the tests share; {@link #goDown()} is not allowed. */
    public static KafkaBroker shared() throws Exception {
        return new KafkaBroker(null, TestBrokers.sharedBootstrapServers(FreePorts::pick));
    }

    /** A broker of the test's own: {@link #goDown()} kills it with SIGKILL, {@link #comeBack()} restarts it on its port and data. */
    public static KafkaBroker own() throws Exception {
        DevKafkaProcess process = TestBrokers.startPrivate(FreePorts.pick(), false);
        try {
            return new KafkaBroker(process, process.bootstrapServers());
        } catch (Exception e) {
            process.kill();
            throw e;
        }
    }

    private Admin admin() {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        return Admin.create(p);
    }

    /** One record of the aggregate's topic as a plain Kafka consumer reads it. */
    public record Read(int partition, long offset, String key, String id, String value) {
    }

    /**
     * Reads the aggregate's topic from its start with Kafka's own consumer (no class of ours) until
     * {@code count} records arrived or {@code within} passed: what any other team's consumer sees.
     * The header {@code id} of each record, null when it has none.
     */
    public List<Read> readAll(int count, Duration within) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("group.id", SystemBroker.uniqueName("systest-reader-"));
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        List<Read> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            consumer.subscribe(List.of(prefix + "." + AGGREGATE_TYPE));
            long deadline = System.nanoTime() + within.toNanos();
            while (records.size() < count && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    Header id = r.headers().lastHeader("id");
                    records.add(new Read(r.partition(), r.offset(), text(r.key()), id == null ? null : text(id.value()),
                            text(r.value())));
                }
            }
        }
        return records;
    }

    private static String text(byte[] bytes) {
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    @Override
    public String kind() {
        return "kafka";
    }

    /** {@code KAFKA_TOPIC}: {@code systest.<hex>.{aggregate_type}}. */
    private String topicTemplate() {
        return prefix + ".{aggregate_type}";
    }

    @Override
    public Map<String, String> relayEnv() {
        return Map.of("SINK", kind(), "KAFKA_BOOTSTRAP_SERVERS", bootstrap, "KAFKA_TOPIC", topicTemplate());
    }

    @Override
    public Map<String, String> consumerEnv() {
        return Map.of("SOURCE", kind(), "KAFKA_BOOTSTRAP_SERVERS", bootstrap, "KAFKA_TOPIC", topicTemplate(),
                "CONSUMER_NAME", consumer);
    }

    @Override
    public void goDown() {
        requireOwn().kill();
    }

    @Override
    public void comeBack() {
        requireOwn().restart();
    }

    private DevKafkaProcess requireOwn() {
        if (own == null) {
            throw new UnsupportedOperationException("the shared test broker is never stopped by a test: use KafkaBroker.own()");
        }
        return own;
    }

    @Override
    public void close() throws Exception {
        if (own != null) {
            own.kill();
            return;
        }
        try (Admin admin = admin()) {
            admin.deleteTopics(List.of(prefix + "." + AGGREGATE_TYPE)).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            // already gone
        }
    }

    @Override
    public String toString() {
        return "Kafka at " + bootstrap + " topics " + topicTemplate() + " group " + consumer;
    }
}
