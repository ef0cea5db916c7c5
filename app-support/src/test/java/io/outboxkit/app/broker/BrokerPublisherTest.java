package io.outboxkit.app.broker;

import static io.outboxkit.app.broker.BrokerSettingsTest.SECRET;
import static io.outboxkit.app.broker.BrokerSettingsTest.assertNoSecret;
import static io.outboxkit.app.broker.BrokerSettingsTest.env;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.outboxkit.app.ConfigException;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.FreePorts;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Against the machine's RabbitMQ (5672, guest/guest), and a NATS port where nothing listens. */
class BrokerPublisherTest {

    static OutboxMessage message() {
        return new OutboxMessage(UUID.randomUUID(), 1, "Order", UUID.randomUUID().toString(), "OrderCreated", "{}",
                Map.of(), Instant.now(), 1);
    }

    @Test
    void credentials_the_broker_refuses_stop_the_start_with_one_line_without_the_password() {
        BrokerSettings settings = BrokerSettings.sink(env("SINK", "rabbitmq", "RABBITMQ_URI",
                "amqp://guest:" + SECRET + "@127.0.0.1:5672/%2F", "RABBITMQ_EXCHANGE", "broker-publisher-test"));

        assertThatThrownBy(() -> settings.openPublisher(OutboxNames.DEFAULT))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SINK=rabbitmq: ")
                .satisfies(e -> assertNoSecret(e.getMessage()))
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void a_rabbitmq_publisher_that_connects_reports_its_connection() throws Exception {
        BrokerSettings settings = BrokerSettings.sink(env("SINK", "rabbitmq", "RABBITMQ_URI",
                "amqp://guest:guest@127.0.0.1:5672/%2F", "RABBITMQ_EXCHANGE", "broker-publisher-test"));
        try (BrokerPublisher publisher = settings.openPublisher(OutboxNames.DEFAULT)) {
            assertThat(publisher.isConnected()).isTrue();
            assertThat(publisher.messagingSystem()).isEqualTo("rabbitmq");
            assertThat(publisher.toString()).isEqualTo("rabbitmq at amqp://guest:***@127.0.0.1:5672/%2F (exchange "
                    + "broker-publisher-test)");
        } finally {
            ConnectionFactory factory = new ConnectionFactory();
            factory.setUri("amqp://guest:guest@127.0.0.1:5672/%2F");
            try (Connection connection = factory.newConnection(); Channel channel = connection.createChannel()) {
                channel.exchangeDelete("broker-publisher-test");
            }
        }
    }

    @Test
    void nats_that_cannot_be_reached_at_start_fails_deliveries_until_it_can_and_does_not_stop_the_start() throws Exception {
        BrokerSettings settings = BrokerSettings.sink(env("SINK", "nats", "NATS_URL",
                "nats://app:" + SECRET + "@127.0.0.1:" + FreePorts.pick()));
        try (BrokerPublisher publisher = settings.openPublisher(OutboxNames.DEFAULT)) {
            assertThat(publisher.isConnected()).isFalse();
            OutboxMessage message = message();
            Map<UUID, Exception> failures = publisher.publishAll(List.of(message));

            assertThat(failures).containsOnlyKeys(message.id());
            Exception failure = failures.get(message.id());
            assertThat(failure.getMessage()).startsWith("nats not connected yet: SINK=nats: ");
            assertNoSecret(failure.getMessage());
            assertThat(FailureReason.of(failure)).isEqualTo(FailureReason.UNAVAILABLE);
            assertThat(publisher.messagingSystem()).isEqualTo("nats");
        }
    }

    @Test
    void a_publisher_whose_connector_gave_up_on_a_refusal_met_in_the_background_is_not_alive() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        BrokerPublisher publisher = unreachableAtTheFirstAttempt(() -> {
            throw new ConfigException("SINK=nats: authorization violation");
        }, attempts);
        try {
            assertThat(publisher.isAlive()).as("connecting in the background is alive").isTrue();

            await("given up").atMost(Duration.ofSeconds(10)).until(() -> !publisher.isAlive());
            assertThat(attempts.get()).as("no attempt after the refusal").isEqualTo(2);
            OutboxMessage message = message();
            assertThat(FailureReason.of(publisher.publishAll(List.of(message)).get(message.id())))
                    .isEqualTo(FailureReason.UNAVAILABLE);
        } finally {
            publisher.close();
        }
        assertThat(publisher.isAlive()).as("a closed publisher is alive").isTrue();
    }

    @Test
    void a_publisher_connected_in_the_background_is_alive() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        MessagePublisher later = message -> { };
        try (BrokerPublisher publisher = unreachableAtTheFirstAttempt(() -> later, attempts)) {
            await("connected in the background").atMost(Duration.ofSeconds(10))
                    .until(() -> publisher.delegate() == later);
            assertThat(publisher.isAlive()).isTrue();
        }
    }

    /** A publisher whose broker is unreachable at the first attempt, counted in {@code attempts}, and built by {@code then} at the next ones. */
    private static BrokerPublisher unreachableAtTheFirstAttempt(Supplier<MessagePublisher> then, AtomicInteger attempts) {
        return BrokerPublisher.connecting(Broker.NATS, "nats at test", () -> {
            if (attempts.incrementAndGet() == 1) {
                throw new ConfigException("SINK=nats: cannot connect", new IOException("Connection refused"));
            }
            return then.get();
        }, BrokerConnector::unreachable);
    }
}
