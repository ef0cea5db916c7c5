package io.outboxkit.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.FailureReason;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The publisher's contract against the real broker: what a confirm means, and how each refusal fails alone. */
class RabbitMqPublisherTest {

    private Broker broker;
    private String exchange;
    private String queue;
    private RabbitMqPublisher publisher;

    @BeforeEach
    void setUp() throws Exception {
        broker = new Broker();
        exchange = broker.exchange("publisher");
        queue = broker.queue("orders");
        broker.queueBoundTo(queue, exchange, "Order.#");
        publisher = RabbitMqPublisher.builder(Broker.URI).exchange(exchange).build();
    }

    @AfterEach
    void tearDown() throws Exception {
        publisher.close();
        broker.close();
    }

    @Test
    void a_confirmed_batch_is_in_the_bound_queue_whole_and_in_order() throws Exception {
        List<OutboxMessage> batch = Messages.orders(100);

        assertThat(publisher.publishAll(batch)).isEmpty();

        List<GetResponse> got = broker.drain(queue);
        assertThat(got).extracting(r -> r.getProps().getMessageId())
                .containsExactlyElementsOf(batch.stream().map(m -> m.id().toString()).toList());
        assertThat(got).allSatisfy(r -> assertThat(r.getProps().getDeliveryMode()).isEqualTo(2));
    }

    /**
     * A foreign client: amqp-client's own {@code basicGet}, none of our classes (the broker's management
     * plugin, and so its HTTP API and rabbitmqadmin, is off on this machine).
     */
    @Test
    void a_plain_amqp_client_reads_routing_key_properties_headers_and_body_as_documented() throws Exception {
        OutboxMessage message = new OutboxMessage(UUID.randomUUID(), 42, "Order", "0b6c3f0e-order", "OrderCreated",
                "{\"order_id\":\"0b6c3f0e-order\",\"amount\":100.00,\"note\":\"grüße\"}",
                Map.of("trace_id", "4bf92f3577b34da6"), Instant.parse("2026-12-03T10:15:30.123456Z"), 1);

        assertThat(publisher.publishAll(List.of(message))).isEmpty();
        GetResponse got = broker.take(queue);

        assertThat(got.getEnvelope().getExchange()).isEqualTo(exchange);
        assertThat(got.getEnvelope().getRoutingKey()).isEqualTo("Order.OrderCreated");
        assertThat(got.getProps().getMessageId()).isEqualTo(message.id().toString());
        assertThat(got.getProps().getType()).isEqualTo("OrderCreated");
        assertThat(got.getProps().getContentType()).isEqualTo("application/json");
        assertThat(got.getProps().getDeliveryMode()).isEqualTo(2);
        assertThat(got.getProps().getTimestamp()).isEqualTo(Date.from(Instant.parse("2026-12-03T10:15:30Z")));
        Map<String, String> headers = new LinkedHashMap<>();
        got.getProps().getHeaders().forEach((name, value) -> headers.put(name, value.toString()));
        assertThat(headers).containsExactlyInAnyOrderEntriesOf(Map.of(
                "id", message.id().toString(),
                "sequence", "42",
                "aggregate_type", "Order",
                "aggregate_id", "0b6c3f0e-order",
                "event_type", "OrderCreated",
                "created_at", "2026-12-03T10:15:30.123456Z",
                "trace_id", "4bf92f3577b34da6"));
        assertThat(new String(got.getBody(), StandardCharsets.UTF_8)).isEqualTo(message.payload());
    }
    @Test
    void a_message_a_queue_refuses_fails_alone_and_the_rest_of_its_batch_is_delivered() throws Exception {
        String full = broker.queue("full");
        broker.queueBoundTo(full, Map.of("x-max-length", 0, "x-overflow", "reject-publish"), exchange, "Refused.#");
        List<OutboxMessage> batch = new ArrayList<>(Messages.orders(5));
        OutboxMessage refused = Messages.message("Refused", "r-1", "Anything");
        batch.add(2, refused);

        Map<UUID, Exception> failures = publisher.publishAll(batch);

        assertThat(failures).containsOnlyKeys(refused.id());
        assertThat(failures.get(refused.id())).hasMessageContaining("RabbitMQ refused the message (basic.nack)");
        assertThat(broker.ready(queue)).isEqualTo(5);
    }

    @Test
    void an_unroutable_message_fails_alone_with_a_clear_error_instead_of_being_dropped() throws Exception {
        List<OutboxMessage> batch = new ArrayList<>(Messages.orders(5));
        OutboxMessage unroutable = Messages.message("Invoice", "i-1", "InvoiceSent");
        batch.add(3, unroutable);

        Map<UUID, Exception> failures = publisher.publishAll(batch);

        assertThat(failures).containsOnlyKeys(unroutable.id());
        assertThat(failures.get(unroutable.id())).hasMessage("unroutable: no queue is bound to exchange '" + exchange
                + "' for routing key 'Invoice.InvoiceSent' (NO_ROUTE 312); bind a queue for it (a consumer's source "
                + "does), or fix the aggregate or event type");
        assertThat(broker.ready(queue)).isEqualTo(5);
    }

    @Test
    void an_oversize_message_fails_alone_before_it_is_sent_and_the_channel_goes_on() throws Exception {
        try (RabbitMqPublisher small = RabbitMqPublisher.builder(Broker.URI).exchange(exchange).maxMessageBytes(1024).build()) {
            List<OutboxMessage> batch = new ArrayList<>(Messages.orders(4));
            OutboxMessage oversize = Messages.message("Order", "o-big", "OrderCreated", "\"" + "x".repeat(2000) + "\"");
            batch.add(1, oversize);

            Map<UUID, Exception> failures = small.publishAll(batch);

            assertThat(failures).containsOnlyKeys(oversize.id());
            assertThat(failures.get(oversize.id())).hasMessageContaining("its payload is 2002 bytes, more than "
                    + "maxMessageBytes (1024)");
            assertThat(small.publishAll(Messages.orders(3))).isEmpty();
            assertThat(broker.ready(queue)).isEqualTo(7);
        }
    }

    /** RabbitMQ reads CC and BCC (in capitals) as more routing keys, and closes the channel on a text value. */
    @Test
    void a_message_with_a_cc_or_bcc_header_fails_alone_before_it_is_sent_and_the_rest_of_its_batch_is_delivered()
            throws Exception {
        OutboxMessage cc = Messages.message("Order", "o-cc", "OrderCreated", "{}", Map.of("CC", "Order.Copied"));
        OutboxMessage bcc = Messages.message("Order", "o-bcc", "OrderCreated", "{}", Map.of("BCC", "Order.Copied"));
        OutboxMessage lowerCase = Messages.message("Order", "o-lc", "OrderCreated", "{}", Map.of("cc", "ops@example.com"));
        List<OutboxMessage> batch = new ArrayList<>(Messages.orders(4));
        batch.add(1, cc);
        batch.add(3, lowerCase);
        batch.add(5, bcc);

        Map<UUID, Exception> failures = publisher.publishAll(batch);

        assertThat(failures).containsOnlyKeys(cc.id(), bcc.id());
        assertThat(failures.get(cc.id())).hasMessageStartingWith("message " + cc.id() + " cannot be sent to RabbitMQ: "
                + "its header CC is one RabbitMQ reads itself, as more routing keys");
        assertThat(failures.get(bcc.id())).hasMessageContaining("its header BCC is one RabbitMQ reads itself")
                .hasMessageContaining("rename the header");
        List<GetResponse> got = broker.drain(queue);
        assertThat(got).extracting(r -> r.getProps().getMessageId()).containsExactlyElementsOf(batch.stream()
                .filter(m -> m != cc && m != bcc).map(m -> m.id().toString()).toList());
        assertThat(got).filteredOn(r -> r.getProps().getMessageId().equals(lowerCase.id().toString())).singleElement()
                .satisfies(r -> assertThat(r.getProps().getHeaders().get("cc")).hasToString("ops@example.com"));
    }

    @Test
    void a_routing_key_longer_than_amqp_allows_fails_alone_and_later_confirms_still_reach_their_own_messages()
            throws Exception {
        String full = broker.queue("full");
        broker.queueBoundTo(full, Map.of("x-max-length", 0, "x-overflow", "reject-publish"), exchange, "Refused.#");
        OutboxMessage tooLong = Messages.message("Order".repeat(60), "o-1", "OrderCreated");
        OutboxMessage refused = Messages.message("Refused", "r-1", "Anything");
        List<OutboxMessage> batch = new ArrayList<>(Messages.orders(3));
        batch.add(1, tooLong);
        batch.add(3, refused);

        Map<UUID, Exception> failures = publisher.publishAll(batch);

        // Had the too-long key taken a sequence number, the refusal would land on its neighbour.
        assertThat(failures).containsOnlyKeys(tooLong.id(), refused.id());
        assertThat(failures.get(tooLong.id())).hasMessageContaining("routing key").hasMessageContaining("more than AMQP's 255");
        assertThat(failures.get(refused.id())).hasMessageContaining("basic.nack");
        assertThat(broker.ready(queue)).isEqualTo(3);
    }

    @Test
    void the_exchange_is_declared_as_a_durable_topic_exchange_when_absent() throws Exception {
        try (Channel channel = broker.channel()) {
            // Declaring it again with the same type and durability succeeds only if that is what it is.
            channel.exchangeDeclare(exchange, BuiltinExchangeType.TOPIC, true);
        }
    }

    @Test
    void an_exchange_of_another_type_stops_the_publisher_at_build_with_one_clear_error() throws Exception {
        String fanout = broker.exchange("fanout");
        try (Channel channel = broker.channel()) {
            channel.exchangeDeclare(fanout, BuiltinExchangeType.FANOUT, true);
        }

        assertThatThrownBy(() -> RabbitMqPublisher.builder(Broker.URI).exchange(fanout).build())
                .isInstanceOf(OutboxException.class)
                .hasMessageContaining("RabbitMQ publisher cannot start")
                .hasMessageContaining("inequivalent arg 'type' for exchange '" + fanout + "'");
    }

    @Test
    void an_exchange_redeclared_with_another_type_after_the_start_fails_the_batch_as_refused() throws Exception {
        try (Channel channel = broker.channel()) {
            channel.exchangeDelete(exchange);
            channel.exchangeDeclare(exchange, BuiltinExchangeType.FANOUT, true);
        }
        List<OutboxMessage> batch = Messages.orders(3);

        Map<UUID, Exception> failures = publisher.publishAll(batch);

        assertThat(failures).containsOnlyKeys(batch.stream().map(OutboxMessage::id).toList());
        assertThat(failures.values()).allSatisfy(e -> {
            assertThat(e).hasMessageContaining("inequivalent arg 'type' for exchange '" + exchange + "'");
            assertThat(FailureReason.of(e)).as("trying again cannot help: the operator's to fix").isEqualTo(FailureReason.REFUSED);
        });
    }

    @Test
    void a_batch_whose_channel_the_broker_closes_with_not_found_fails_whole_as_refused() throws Exception {
        assertThat(publisher.publishAll(Messages.orders(1))).as("its channel is now open and idle").isEmpty();
        try (Channel channel = broker.channel()) {
            channel.exchangeDelete(exchange);
        }
        List<OutboxMessage> batch = Messages.orders(2000);

        Map<UUID, Exception> failures = publisher.publishAll(batch);

        // Some await their confirm when the channel closes, the rest are not sent on it: all the same refusal.
        assertThat(failures).containsOnlyKeys(batch.stream().map(OutboxMessage::id).toList());
        assertThat(failures.values()).allSatisfy(e -> assertThat(FailureReason.of(e))
                .as("reason of \"%s\"", e.getMessage()).isEqualTo(FailureReason.REFUSED));
    }

    @Test
    void refused_credentials_stop_the_publisher_at_build_with_one_clear_error_that_never_shows_the_password() {
        String secret = "s3cr3t-NotThePassword";
        String uri = Broker.URI.replaceFirst("//[^@]*@", "//guest:" + secret + "@");
        String printed = printedWhile(() -> assertThatThrownBy(() -> RabbitMqPublisher.builder(uri).exchange(exchange).build())
                .isInstanceOf(OutboxException.class)
                .hasMessageContaining("the broker refused the credentials")
                .hasMessageContaining("amqp://guest@")
                .hasMessageNotContaining(secret));

        assertThat(printed).doesNotContain(secret);
    }

    @Test
    void an_unknown_virtual_host_stops_the_publisher_at_build_with_one_clear_error() {
        String uri = Broker.URI.replaceFirst("/%2F$", "/no-such-vhost");

        assertThatThrownBy(() -> RabbitMqPublisher.builder(uri).exchange(exchange).build())
                .isInstanceOf(OutboxException.class)
                .hasMessageContaining("/no-such-vhost")
                .hasMessageContaining("no-such-vhost");
    }

    @Test
    void concurrent_batches_from_several_threads_are_each_confirmed_whole() throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            List<Future<Map<UUID, Exception>>> results = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                results.add(threads.submit(() -> publisher.publishAll(Messages.orders(50))));
            }
            for (Future<Map<UUID, Exception>> result : results) {
                assertThat(result.get()).isEmpty();
            }
        } finally {
            threads.shutdownNow();
        }
        assertThat(broker.ready(queue)).isEqualTo(1000);
    }

    @Test
    void publish_of_one_message_throws_the_reason_it_was_not_confirmed() throws Exception {
        OutboxMessage unroutable = Messages.message("Invoice", "i-1", "InvoiceSent");

        publisher.publish(Messages.message("Order", "o-1", "OrderCreated"));
        assertThatThrownBy(() -> publisher.publish(unroutable)).isInstanceOf(OutboxException.class)
                .hasMessageStartingWith("unroutable");
    }

    @Test
    void a_closed_publisher_refuses_batches_and_says_it_is_not_connected() throws Exception {
        assertThat(publisher.isConnected()).isTrue();

        publisher.close();

        assertThat(publisher.isConnected()).isFalse();
        assertThatThrownBy(() -> publisher.publishAll(Messages.orders(1))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is closed");
    }

    @Test
    void to_string_shows_the_broker_and_exchange_without_the_password() {
        try (RabbitMqPublisher withSecret = RabbitMqPublisher.builder(Broker.URI).exchange(exchange).build()) {
            assertThat(withSecret.toString()).isEqualTo("RabbitMqPublisher[amqp://guest@127.0.0.1:" + Broker.port()
                    + "/%2F, exchange " + exchange + "]");
        }
    }

    /** What the library printed (its log goes to standard error) while {@code action} ran. */
    static String printedWhile(Runnable action) {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setErr(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
