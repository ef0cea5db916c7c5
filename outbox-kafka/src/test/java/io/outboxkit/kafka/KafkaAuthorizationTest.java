package io.outboxkit.kafka;

import static io.outboxkit.kafka.TestKafka.message;
import static io.outboxkit.kafka.TestKafka.text;
import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.devkafka.DevKafka;
import io.outboxkit.devkafka.DevKafkaProcess;
import io.outboxkit.devkafka.DevKafkaSettings;
import io.outboxkit.testing.FreePorts;
import java.nio.file.Files;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The publisher against a broker that authenticates (SASL/PLAIN) and authorizes (ACLs): a private
 * dev-kafka whose user {@code relay} may write only {@code outbox.event.Allowed}.
 */
class KafkaAuthorizationTest {

    private static final String PASSWORD = "relay-" + UUID.randomUUID().toString().substring(0, 8);
    private static DevKafkaProcess broker;

    @BeforeAll
    static void startBrokerWithUsersAndAcls() throws Exception {
        Map<String, String> users = new LinkedHashMap<>();
        users.put("admin", "admin-secret"); // the first user is the super user
        users.put("relay", PASSWORD);
        DevKafkaSettings settings = new DevKafkaSettings(FreePorts.pick(),
                Files.createTempDirectory("outbox-kafka-acl").resolve("kafka"), false, 1, users);
        broker = DevKafkaProcess.start(settings);
        Map<String, Object> props = new java.util.HashMap<>(DevKafka.clientSecurity(settings, "admin"));
        props.put("bootstrap.servers", broker.bootstrapServers());
        try (Admin admin = Admin.create(props)) {
            admin.createTopics(List.of(new NewTopic("outbox.event.Allowed", 1, (short) 1),
                    new NewTopic("outbox.event.Forbidden", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            ResourcePattern allowed = new ResourcePattern(ResourceType.TOPIC, "outbox.event.Allowed", PatternType.LITERAL);
            admin.createAcls(List.of(
                    new AclBinding(allowed, new AccessControlEntry("User:relay", "*", AclOperation.WRITE, AclPermissionType.ALLOW)),
                    new AclBinding(allowed, new AccessControlEntry("User:relay", "*", AclOperation.DESCRIBE, AclPermissionType.ALLOW))))
                    .all().get(30, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void killBroker() {
        broker.kill();
    }

    private static KafkaPublisher publisherAs(String user, String password) {
        return KafkaPublisher.builder(broker.bootstrapServers()).maxBlock(Duration.ofSeconds(2))
                .deliveryTimeout(Duration.ofSeconds(3))
                .property("security.protocol", "SASL_PLAINTEXT")
                .property("sasl.mechanism", "PLAIN")
                .property("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required"
                        + " username=\"" + user + "\" password=\"" + password + "\";")
                .build();
    }

    @Test
    void a_topic_the_client_may_not_write_fails_that_message_alone_saying_so() throws Exception {
        try (KafkaPublisher publisher = publisherAs("relay", PASSWORD)) {
            OutboxMessage allowed = message("Allowed", "a", 1);
            OutboxMessage forbidden = message("Forbidden", "b", 2);

            Map<UUID, Exception> failures = publisher.publishAll(List.of(forbidden, allowed));

            assertThat(failures).containsOnlyKeys(forbidden.id());
            assertThat(failures.get(forbidden.id()).getMessage()).startsWith("Kafka topic outbox.event.Forbidden: not"
                    + " authorized to write to the topic (").endsWith("); grant this client's principal WRITE on it");
            Map<String, Object> admin = new java.util.HashMap<>(DevKafka.clientSecurity(broker.settings(), "admin"));
            assertThat(TestKafka.read(broker.bootstrapServers(), admin, "outbox.event.Allowed", 1, Duration.ofSeconds(30)))
                    .extracting(r -> text(r.key())).containsExactly("a");
            assertThat(publisher.toString()).doesNotContain(PASSWORD);
        }
    }

    @Test
    void credentials_the_broker_refuses_fail_the_batch_with_a_clear_error_and_never_show_the_password() throws Exception {
        try (KafkaPublisher publisher = publisherAs("relay", "wrong-password")) {
            OutboxMessage message = message("Allowed", "a", 1);

            Exception failure = publisher.publishAll(List.of(message)).get(message.id());

            assertThat(failure.getMessage()).startsWith("Kafka topic outbox.event.Allowed: the broker refused this"
                    + " client's credentials (").doesNotContain("wrong-password");
            assertThat(publisher.isConnected()).isFalse();
        }
    }
}
