package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.MessageInfo;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxEntry;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
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

    /** The starter with every broker's auto-configuration, NATS set to this test's stream and subjects. */
    private ApplicationContextRunner natsContext() {
        return Contexts.on(db, DataSourceTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class,
                        OutboxKafkaAutoConfiguration.class, OutboxRabbitMqAutoConfiguration.class,
                        OutboxNatsAutoConfiguration.class)
                .withPropertyValues("outboxkit.nats.url=" + NATS_URL, "outboxkit.nats.stream=" + stream,
                        "outboxkit.nats.subject-prefix=" + subjectPrefix);
    }

    @Test
    void a_message_written_in_a_transaction_is_stored_in_the_jetstream_stream_the_properties_name() {
        natsContext()
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

    /**
     * A message NATS would change goes DEAD with a statement that repairs it; under the outbox's
     * own names ({@code outboxkit.schema.*}) that statement must name that outbox's table.
     */
    @Test
    void the_repair_statement_of_a_refused_message_repairs_its_row_in_the_outbox_the_properties_name() {
        natsContext()
                .withPropertyValues("outboxkit.max-attempts=1", "outboxkit.schema.name=billing_" + suffix,
                        "outboxkit.schema.outbox-table=billing_outbox", "outboxkit.schema.channel=billing_" + suffix)
                .run(context -> {
                    UUID id = context.getBean(TransactionTemplate.class).execute(status -> context.getBean(SpringOutboxWriter.class)
                            .write(NewMessage.of("Invoice", " invoice-1 ", "InvoiceIssued", "{}")));
                    OutboxAdmin admin = context.getBean(OutboxAdmin.class);
                    await().atMost(Duration.ofSeconds(20)).until(() -> admin.find(id).map(OutboxEntry::status).orElse(null)
                            == MessageStatus.DEAD);
                    String error = admin.find(id).orElseThrow().lastError();
                    Matcher statement = Pattern.compile("outbox row \\((UPDATE .*)\\), then requeued").matcher(error);
                    assertThat(statement.find()).as("the error gives a statement: " + error).isTrue();

                    db.jdbi().useHandle(h -> h.execute(statement.group(1)));

                    assertThat(admin.find(id).orElseThrow().message().aggregateId())
                            .as("the row after " + statement.group(1)).isEqualTo("invoice-1");
                });
    }
}
