package io.outboxkit.consumer;

import static io.outboxkit.app.testing.PrometheusText.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.StreamConfiguration;
import io.outboxkit.app.Database;
import io.outboxkit.app.Env;
import io.outboxkit.app.MessageEnvelope;
import io.outboxkit.app.broker.Broker;
import io.outboxkit.app.broker.BrokerPublisher;
import io.outboxkit.app.broker.BrokerSettings;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.rabbitmq.RabbitMqSource;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.PrivateNatsServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code SOURCE=rabbitmq} against the machine's RabbitMQ (an exchange and a queue of the test's own):
 * the consumer applies what the broker brings through the idempotent handler, skips a copy
 * published twice, keeps each order's events in order, and its {@code /health} names the source.
 * {@code SOURCE=nats} with a nats-server of the test's own, started only after the consumer: the
 * consumer starts anyway, says in {@code /health} that its source is not connected (while
 * {@code /health/live} says alive: it reconnects by design), and receives
 * once NATS is up; on a NATS server where another outbox's stream takes the default subjects, one
 * with {@code NATS_SUBJECT_PREFIX} of its own relays and consumes beside it. A message the source
 * dead-letters is counted in the consumer's {@code /metrics}.
 */
class BrokerSourceTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply);

    @Test
    void messages_from_rabbitmq_are_applied_once_in_order_and_a_second_copy_is_skipped() throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        Env env = Env.of(Map.of("SOURCE", "rabbitmq", "SINK", "rabbitmq", "RABBITMQ_URI", "amqp://guest:guest@127.0.0.1:5672/%2F",
                "RABBITMQ_EXCHANGE", "consumer-source-test-" + suffix));
        String name = "consumer-source-test-" + suffix;
        try {
            applyOnceInOrder(env, name, Broker.RABBITMQ, api -> { });
        } finally {
            ConnectionFactory factory = new ConnectionFactory();
            factory.setUri("amqp://guest:guest@127.0.0.1:5672/%2F");
            try (Connection connection = factory.newConnection(); Channel channel = connection.createChannel()) {
                channel.queueDelete(name);
                channel.queueDelete(name + ".dead-letter");
                channel.exchangeDelete(env.string("RABBITMQ_EXCHANGE", null));
            }
        }
    }

    /**
     * The consumer-side counterpart of a DEAD outbox row: without a count of it no alert rule can see
     * a message the source dead-lettered (the relay counted it delivered).
     */
    @Test
    void a_message_the_source_dead_letters_is_counted_in_the_consumers_metrics_by_reason() throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        String exchange = "consumer-dead-letters-" + suffix;
        String queue = "consumer-dead-letters-q-" + suffix;
        String uri = "amqp://guest:guest@127.0.0.1:5672/%2F";
        RabbitMqSource source = RabbitMqSource.builder(uri, queue).exchange(exchange).build();
        String unreadable = "outbox_consumer_dead_letters_total{consumer=\"loyalty\",reason=\"unreadable\"}";
        String maxAttempts = "outbox_consumer_dead_letters_total{consumer=\"loyalty\",reason=\"max_attempts\"}";
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(uri);
        try (Observability observability = Observability.start("consumer", Env.of(Map.of()));
             Database database = TestDatabases.open(db, 4, ConsumerMain.SCHEMA);
             ConsumerApp app = ConsumerApp.start(database, "loyalty", "127.0.0.1", 0, observability, source, Broker.RABBITMQ);
             Connection connection = factory.newConnection(); Channel channel = connection.createChannel()) {
            await().atMost(Duration.ofSeconds(20)).until(source::isConnected);
            ApiClient api = new ApiClient(app.port());
            assertThat(value(api.text("/metrics"), unreadable)).as("there at 0 before the first").isZero();

            // A message with no outbox headers: unreadable as an outbox message.
            channel.basicPublish(exchange, "Order.OrderCreated", new AMQP.BasicProperties.Builder().messageId("foreign").build(),
                    "{}".getBytes(StandardCharsets.UTF_8));
            await().atMost(Duration.ofSeconds(20)).until(() -> value(api.text("/metrics"), unreadable) == 1);

            assertThat(channel.messageCount(source.deadLetterQueue())).isEqualTo(1);
            assertThat(value(api.text("/metrics"), maxAttempts)).isZero();
        } finally {
            try (Connection connection = factory.newConnection(); Channel channel = connection.createChannel()) {
                channel.queueDelete(queue);
                channel.queueDelete(source.deadLetterQueue());
                channel.exchangeDelete(exchange);
            }
        }
    }

    @Test
    void a_nats_source_down_at_start_lets_the_consumer_start_and_receives_once_nats_is_up() throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        try (PrivateNatsServer nats = PrivateNatsServer.unstarted()) {
            Env env = Env.of(Map.of("SOURCE", "nats", "SINK", "nats", "NATS_URL", nats.url(),
                    "NATS_STREAM", "CONSUMER_SOURCE_" + suffix.toUpperCase()));
            applyOnceInOrder(env, "consumer-source-test-" + suffix, Broker.NATS, api -> {
                ApiClient.Response down = api.get("/health");
                assertThat(down.status()).isEqualTo(503);
                assertThat(down.body().get("error").asText()).isEqualTo("source nats is not connected");
                ApiClient.Response live = api.get("/health/live");
                assertThat(live.status()).as("still connecting is alive: a restart would not help").isEqualTo(200);
                assertThat(live.body().get("source").asText()).isEqualTo("nats");
                nats.start();
            });
        }
    }

    @Test
    void two_outboxes_share_one_nats_server_each_on_its_own_subject_prefix() throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        try (PrivateNatsServer nats = PrivateNatsServer.launch();
             io.nats.client.Connection other = Nats.connect(nats.url())) {
            // Another outbox's stream on the server, taking the default subjects outbox.>.
            JetStreamManagement streams = other.jetStreamManagement();
            streams.addStream(StreamConfiguration.builder().name("OTHER_OUTBOX").subjects("outbox.>").build());
            String stream = "SHOP_" + suffix.toUpperCase();
            Env env = Env.of(Map.of("SOURCE", "nats", "SINK", "nats", "NATS_URL", nats.url(),
                    "NATS_STREAM", stream, "NATS_SUBJECT_PREFIX", "shop.orders"));

            applyOnceInOrder(env, "consumer-prefix-test-" + suffix, Broker.NATS, api -> { });

            assertThat(streams.getStreamInfo(stream).getConfiguration().getSubjects()).containsExactly("shop.orders.>");
            assertThat(streams.getStreamInfo(stream).getStreamState().getMsgCount()).isEqualTo(9);
            assertThat(streams.getStreamInfo("OTHER_OUTBOX").getStreamState().getMsgCount()).isZero();
        }
    }

    /** What the test does once the consumer runs, before it waits for its source to be connected. */
    private interface BeforeConnected {
        void run(ApiClient api) throws Exception;
    }

    private static void applyOnceInOrder(Env env, String name, Broker kind, BeforeConnected beforeConnected) throws Exception {
        BrokerSettings source = BrokerSettings.source(env, name);
        UUID user = UUID.randomUUID();
        List<UUID> orders = List.of(UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID());
        List<OutboxMessage> messages = new ArrayList<>();
        for (UUID order : orders) {
            messages.add(MessageEnvelope.fromJson(Envelopes.orderCreated(UUID.randomUUID(), 1, order, user, "10.00")));
            messages.add(MessageEnvelope.fromJson(Envelopes.orderPaid(UUID.randomUUID(), 2, order)));
            messages.add(MessageEnvelope.fromJson(Envelopes.orderCancelled(UUID.randomUUID(), 3, order)));
        }

        try (Database database = TestDatabases.open(db, 4, ConsumerMain.SCHEMA);
             ConsumerApp app = ConsumerApp.start(database, name, "127.0.0.1", 0, Observability.off(),
                     source.openSource(), kind)) {
            ApiClient api = new ApiClient(app.port());
            beforeConnected.run(api);
            await("source connected").atMost(Duration.ofSeconds(20))
                    .until(() -> api.get("/health").status() == 200);
            assertThat(api.get("/health").body().get("source").asText()).isEqualTo(kind.id());
            try (BrokerPublisher sink = BrokerSettings.sink(env).openPublisher(OutboxNames.DEFAULT)) {
                for (OutboxMessage message : messages) { // one at a time: the relay's order per aggregate
                    assertThat(sink.publishAll(List.of(message))).isEmpty();
                }
                assertThat(sink.publishAll(List.of(messages.get(0)))).as("a second copy, confirmed").isEmpty();
            }

            // NATS drops the copy itself (its duplicate window knows the message id): the consumer never sees it.
            long copiesSeen = kind == Broker.NATS ? 0 : 1;
            await("every message applied, the copy skipped").atMost(Duration.ofSeconds(20))
                    .until(() -> api.get("/stats").body().get("duplicates").asLong() == copiesSeen
                            && api.get("/stats").body().get("processed").asLong() == messages.size());
            ApiClient.Response customer = api.get("/customers/" + user);
            assertThat(customer.body().get("order_count").asLong()).isEqualTo(orders.size());
            assertThat(customer.body().get("total_amount").decimalValue()).isEqualByComparingTo("30.00");
            for (UUID order : orders) {
                ApiClient.Response status = api.get("/orders/" + order + "/status");
                assertThat(status.body().get("status").asText()).isEqualTo("CANCELLED");
                assertThat(status.body().get("last_sequence").asLong()).isEqualTo(3);
            }
            assertThat(api.get("/stats").body().get("violations").asLong()).isZero();
        }
    }
}
