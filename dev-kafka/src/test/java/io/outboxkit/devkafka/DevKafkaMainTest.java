package io.outboxkit.devkafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.testing.FreePorts;
import java.io.File;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The process run.sh starts: a ready line once clients can connect, a clean stop on SIGTERM, data
 * and cluster id kept across a kill and a restart, one line and exit 2 on a taken port.
 */
class DevKafkaMainTest {

    @TempDir
    Path dir;

    @Test
    void prints_ready_then_stops_the_broker_cleanly_on_sigterm() throws Exception {
        try (DevKafkaProcess kafka = DevKafkaProcess.start(settings(FreePorts.pick()))) {
            assertThat(Files.readAllLines(kafka.log())).anySatisfy(line -> assertThat(line)
                    .startsWith("dev-kafka: ready on port " + kafka.settings().port() + " (data in "
                            + kafka.settings().dataDirectory() + ", cluster ")
                    .endsWith(", topic auto-creation on)"));

            assertThat(kafka.stop()).isEqualTo(143); // the JVM's status after SIGTERM, hooks run
            assertThat(Files.readAllLines(kafka.log())).last().isEqualTo("dev-kafka: stopped");
            DevKafka.requirePortFree(kafka.settings().port());
        }
    }

    @Test
    void an_acknowledged_record_and_the_cluster_id_survive_a_kill_and_a_restart() throws Exception {
        String topic = "survives-" + UUID.randomUUID();
        try (DevKafkaProcess kafka = DevKafkaProcess.start(settings(FreePorts.pick()))) {
            String clusterId = clusterIdFromReadyLine(kafka);
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps(kafka))) {
                producer.send(new ProducerRecord<>(topic, "key", "kept")).get(30, TimeUnit.SECONDS);
            }

            kafka.kill();
            kafka.restart();

            assertThat(clusterIdFromReadyLine(kafka)).isEqualTo(clusterId);
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerProps(kafka))) {
                consumer.subscribe(List.of(topic));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                List<ConsumerRecord<String, String>> read = new ArrayList<>();
                while (read.isEmpty() && System.nanoTime() < deadline) {
                    consumer.poll(Duration.ofMillis(500)).forEach(read::add);
                }
                assertThat(read).singleElement().satisfies(r -> {
                    assertThat(r.key()).isEqualTo("key");
                    assertThat(r.value()).isEqualTo("kept");
                });
            }
        }
    }

    @Test
    void a_taken_port_is_one_line_on_stderr_and_exit_2() throws Exception {
        try (ServerSocket taken = new ServerSocket(0)) {
            File out = dir.resolve("out").toFile();
            File err = dir.resolve("err").toFile();
            ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), DevKafkaMain.class.getName())
                    .redirectOutput(out).redirectError(err);
            builder.environment().putAll(Map.of("PORT", Integer.toString(taken.getLocalPort()),
                    "DATA_DIR", dir.resolve("data").toString()));
            Process process = builder.start();

            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).isEqualTo(2);
            assertThat(Files.readAllLines(err.toPath(), StandardCharsets.UTF_8)).singleElement().asString()
                    .startsWith("dev-kafka: port " + taken.getLocalPort() + " is already in use");
            assertThat(Files.readAllLines(out.toPath(), StandardCharsets.UTF_8)).isEmpty();
        }
    }

    private DevKafkaSettings settings(int port) {
        return new DevKafkaSettings(port, dir.resolve("data"));
    }

    private static String clusterIdFromReadyLine(DevKafkaProcess kafka) throws Exception {
        List<String> ready = Files.readAllLines(kafka.log()).stream().filter(l -> l.startsWith("dev-kafka: ready")).toList();
        String last = ready.get(ready.size() - 1);
        return last.replaceAll(".*, cluster ([^,]+),.*", "$1");
    }

    private static Properties producerProps(DevKafkaProcess kafka) {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("key.serializer", StringSerializer.class.getName());
        p.put("value.serializer", StringSerializer.class.getName());
        return p;
    }

    private static Properties consumerProps(DevKafkaProcess kafka) {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("group.id", "survives-" + UUID.randomUUID());
        p.put("auto.offset.reset", "earliest");
        p.put("key.deserializer", StringDeserializer.class.getName());
        p.put("value.deserializer", StringDeserializer.class.getName());
        return p;
    }
}
