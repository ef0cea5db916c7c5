package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.MessageInfo;
import io.outboxkit.core.NewMessage;
import io.outboxkit.nats.NatsPublisher;
import io.outboxkit.spring.autoconfigure.OutboxKafkaAutoConfiguration;
import io.outboxkit.spring.autoconfigure.OutboxNatsAutoConfiguration;
import io.outboxkit.spring.autoconfigure.OutboxRabbitMqAutoConfiguration;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.transaction.support.TransactionTemplate;

/** The NATS publisher from properties, against the NATS JetStream of this machine (127.0.0.1:4222). */
class NatsPublisherAutoConfigurationTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY);

    private static final String NATS_URL = System.getenv().getOrDefault("OUTBOX_TEST_NATS_URL", "nats://127.0.0.1:4222");

    private final String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xFFFFFFFFFFL);
    private final String stream = "T_SPRING_" + suffix;
    private final String subjectPrefix = "t-spring-" + suffix;
    private Connection connection;

    @BeforeEach
    void connect() throws Exception {
        connection = Nats.connect(NATS_URL);
    }

    @AfterEach
    void delete_the_stream() throws Exception {
        try {
            connection.jetStreamManagement().deleteStream(stream);
        } catch (JetStreamApiException e) {
            // never made: the test failed before the publisher was
        }
        connection.close();
    }

    @Test
    void a_message_written_in_a_transaction_is_stored_in_the_jetstream_stream_the_properties_name() {
        Contexts.on(db, DataSourceTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class,
                        OutboxKafkaAutoConfiguration.class, OutboxRabbitMqAutoConfiguration.class,
                        OutboxNatsAutoConfiguration.class)
                .withPropertyValues("outboxkit.nats.url=" + NATS_URL, "outboxkit.nats.stream=" + stream,
                        "outboxkit.nats.subject-prefix=" + subjectPrefix)
                .run(context -> {
                    assertThat(context).hasSingleBean(NatsPublisher.class).hasBean("outboxPoller");
                    UUID id = context.getBean(TransactionTemplate.class).execute(status -> context.getBean(SpringOutboxWriter.class)
                            .write(NewMessage.of("Order", "n1", "OrderCreated", "{\"order_id\": \"n1\"}")));

                    JetStreamManagement jsm = connection.jetStreamManagement();
                    AtomicReference<MessageInfo> stored = new AtomicReference<>();
                    await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
                            .until(() -> stored.compareAndSet(null, jsm.getMessage(stream, 1)));
                    assertThat(stored.get().getSubject()).isEqualTo(subjectPrefix + ".Order.OrderCreated");
                    assertThat(stored.get().getHeaders().getFirst("Nats-Msg-Id")).isEqualTo(id.toString());
                    assertThat(new String(stored.get().getData(), StandardCharsets.UTF_8)).isEqualTo("{\"order_id\": \"n1\"}");
                });
    }
}
