package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.Delivery;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.rabbitmq.RabbitMqPublisher;
import io.outboxkit.spring.autoconfigure.OutboxKafkaAutoConfiguration;
import io.outboxkit.spring.autoconfigure.OutboxNatsAutoConfiguration;
import io.outboxkit.spring.autoconfigure.OutboxRabbitMqAutoConfiguration;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.FreePorts;
import io.outboxkit.testing.PostgresExtension;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.core.NestedExceptionUtils;
import org.springframework.transaction.support.TransactionTemplate;

/** The broker publishers from properties, against the RabbitMQ of this machine (localhost:5672, guest/guest). */
class BrokerPublisherAutoConfigurationTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY);

    private static final String RABBITMQ_URI = System.getenv().getOrDefault("OUTBOX_TEST_RABBITMQ_URI",
            "amqp://guest:guest@localhost:5672/%2F");

    private final String exchange = "outboxkit-spring-test-" + UUID.randomUUID();
    private Connection connection;
    private Channel channel;
    private String queue;

    private static ApplicationContextRunner context() {
        return Contexts.on(db, DataSourceTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class,
                OutboxKafkaAutoConfiguration.class, OutboxRabbitMqAutoConfiguration.class, OutboxNatsAutoConfiguration.class);
    }

    @BeforeEach
    void a_queue_bound_to_the_exchange() throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(RABBITMQ_URI);
        connection = factory.newConnection("outboxkit-spring-test");
        channel = connection.createChannel();
        // Declared as the publisher declares it, so that the messages it publishes have a queue to go to.
        channel.exchangeDeclare(exchange, BuiltinExchangeType.TOPIC, true);
        queue = channel.queueDeclare().getQueue(); // exclusive, deleted with the connection
        channel.queueBind(queue, exchange, "#");
    }

    @AfterEach
    void delete_the_exchange() throws Exception {
        channel.exchangeDelete(exchange);
        connection.close();
    }

    @Test
    void a_message_written_in_a_transaction_reaches_a_rabbitmq_queue_through_the_publisher_the_properties_configure()
            throws Exception {
        BlockingQueue<Delivery> received = new LinkedBlockingQueue<>();
        channel.basicConsume(queue, true, (tag, delivery) -> received.add(delivery), tag -> { });
        context().withPropertyValues("outboxkit.rabbitmq.uri=" + RABBITMQ_URI, "outboxkit.rabbitmq.exchange=" + exchange)
                .run(context -> {
                    assertThat(context).hasSingleBean(RabbitMqPublisher.class).hasBean("outboxPoller");
                    UUID id = context.getBean(TransactionTemplate.class).execute(status -> context.getBean(SpringOutboxWriter.class)
                            .write(NewMessage.of("Order", "r1", "OrderCreated", "{\"order_id\": \"r1\"}")));

                    Delivery delivery = received.poll(20, TimeUnit.SECONDS);
                    assertThat(delivery).as("a message on the queue").isNotNull();
                    assertThat(delivery.getProperties().getMessageId()).isEqualTo(id.toString());
                    assertThat(delivery.getEnvelope().getRoutingKey()).isEqualTo("Order.OrderCreated");
                    assertThat(new String(delivery.getBody(), StandardCharsets.UTF_8)).isEqualTo("{\"order_id\": \"r1\"}");
                });
    }

    @Test
    void the_applications_own_publisher_bean_wins_over_the_brokers_properties() {
        MessagePublisher own = message -> { };
        context().withPropertyValues("outboxkit.rabbitmq.uri=" + RABBITMQ_URI, "outboxkit.rabbitmq.exchange=" + exchange)
                .withBean(MessagePublisher.class, () -> own)
                .run(context -> {
                    assertThat(context).doesNotHaveBean(RabbitMqPublisher.class);
                    assertThat(context.getBean(MessagePublisher.class)).isSameAs(own);
                });
    }

    @Test
    void without_the_brokers_properties_no_publisher_is_made() {
        context().run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(MessagePublisher.class)
                .doesNotHaveBean("outboxPoller"));
    }

    @Test
    void a_bad_broker_property_fails_the_start_naming_it() {
        context().withPropertyValues("outboxkit.rabbitmq.uri=" + RABBITMQ_URI, "outboxkit.rabbitmq.exchange=amq.mine")
                .run(context -> {
                    assertThat(context).hasFailed();
                    Throwable cause = NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure());
                    assertThat(cause).isInstanceOf(InvalidConfigurationPropertyValueException.class);
                    assertThat(cause.getMessage()).contains("outboxkit.rabbitmq.exchange must not start with 'amq.'");
                });
    }

    @Test
    void a_uri_the_builder_refuses_is_reported_without_its_password() {
        context().withPropertyValues("outboxkit.rabbitmq.uri=http://guest:s3cret@localhost:5672/")
                .run(context -> {
                    assertThat(context).hasFailed();
                    Throwable cause = NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure());
                    assertThat(cause.getMessage()).contains("outboxkit.rabbitmq.uri must start with amqp://")
                            .doesNotContain("s3cret");
                });
    }

    /**
     * docs/spring-boot.md: an instance started with outboxkit.poller.enabled=false only writes. The
     * shared properties still name the broker for the instances that deliver, but this one makes no
     * publisher, so a broker that is down, or refuses its credentials, does not stop it.
     */
    @Test
    void a_writer_only_instance_makes_no_publisher_and_starts_while_nats_is_down() {
        context().withPropertyValues("outboxkit.poller.enabled=false",
                        "outboxkit.nats.url=nats://127.0.0.1:" + FreePorts.pick())
                .run(context -> assertThat(context).as("a writer-only instance, NATS down").hasNotFailed()
                        .hasSingleBean(SpringOutboxWriter.class).doesNotHaveBean(MessagePublisher.class));
    }

    @Test
    void a_writer_only_instance_makes_no_publisher_and_starts_whatever_rabbitmq_thinks_of_its_credentials() {
        context().withPropertyValues("outboxkit.poller.enabled=false",
                        "outboxkit.rabbitmq.uri=amqp://nobody:wrong@127.0.0.1:5672/%2F")
                .run(context -> assertThat(context).as("a writer-only instance, credentials refused").hasNotFailed()
                        .doesNotHaveBean(MessagePublisher.class));
    }

    @Test
    void a_writer_only_instance_makes_no_kafka_publisher() {
        context().withPropertyValues("outboxkit.poller.enabled=off", "outboxkit.kafka.bootstrap-servers=127.0.0.1:9")
                .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(MessagePublisher.class));
    }
}
