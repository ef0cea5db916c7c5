package io.outboxkit.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.testing.TcpProxy;
import io.outboxkit.testing.ThreadPerTask;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The publisher when the broker is out of reach, through a TCP proxy the test owns: every batch
 * fails within the timeout with a clear error, and succeeds again once the broker is back,
 * without a new publisher. Each failure is counted under its reason in
 * {@code outbox_delivery_failures_total{reason}}: a broker out of reach is {@code unavailable}, a
 * broker that does not confirm in time is {@code timeout}, as FailureReason and the README say.
 */
class PublisherFaultTest {

    private static final Duration TIMEOUT = Duration.ofMillis(1500);

    private Broker broker;
    private TcpProxy proxy;
    private String exchange;
    private String queue;

    @BeforeEach
    void setUp() throws Exception {
        broker = new Broker();
        proxy = new TcpProxy(Broker.port());
        exchange = broker.exchange("faults");
        queue = broker.queue("faults");
        broker.queueBoundTo(queue, exchange, "#");
    }

    @AfterEach
    void tearDown() throws Exception {
        proxy.close();
        broker.close();
    }

    private RabbitMqPublisher publisher() {
        return RabbitMqPublisher.builder(proxy.uri(Broker.URI)).exchange(exchange).timeout(TIMEOUT)
                .recoveryInterval(Duration.ofMillis(100)).build();
    }

    @Test
    void while_the_connection_is_cut_a_batch_fails_at_once_with_a_clear_error_and_succeeds_again_once_it_is_back()
            throws Exception {
        try (RabbitMqPublisher publisher = publisher()) {
            assertThat(publisher.publishAll(Messages.orders(10))).isEmpty();

            proxy.cut();
            await().atMost(Duration.ofSeconds(5)).until(() -> !publisher.isConnected());
            List<OutboxMessage> batch = Messages.orders(10);
            long started = System.nanoTime();
            Map<UUID, Exception> failures = publisher.publishAll(batch);

            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(TIMEOUT);
            assertThat(failures).containsOnlyKeys(batch.stream().map(OutboxMessage::id).toList());
            assertThat(failures.values()).allSatisfy(e -> assertThat(e).hasMessageContaining("cannot publish to RabbitMQ at amqp://guest@127.0.0.1:" + proxy.port())
                    .hasMessageContaining("the connection is down").hasMessageContaining("reopens it every 100 ms"));

            proxy.restore();
            await().atMost(Duration.ofSeconds(10)).until(publisher::isConnected);
            assertThat(publisher.publishAll(Messages.orders(10))).isEmpty();
        }
        assertThat(broker.ready(queue)).isEqualTo(20);
    }

    @Test
    void a_connection_lost_while_a_batch_awaits_its_confirms_fails_the_batch_at_once_and_the_next_one_succeeds()
            throws Exception {
        try (RabbitMqPublisher publisher = publisher()) {
            assertThat(publisher.publishAll(Messages.orders(1))).isEmpty();
            proxy.freeze();
            List<OutboxMessage> batch = Messages.orders(20);
            long started = System.nanoTime();
            CompletableFuture<Map<UUID, Exception>> publishing = CompletableFuture.supplyAsync(() -> {
                try {
                    return publisher.publishAll(batch);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, ThreadPerTask.INSTANCE);
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.heldBack() > 0); // sent, not yet confirmed

            proxy.cut();
            proxy.thaw();
            Map<UUID, Exception> failures = publishing.get();

            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(TIMEOUT);
            assertThat(failures).containsOnlyKeys(batch.stream().map(OutboxMessage::id).toList());
            assertThat(failures.values()).allSatisfy(e -> assertThat(e).hasMessage("the channel closed before RabbitMQ "
                    + "confirmed the message: the connection was closed from the other end"));

            proxy.restore();
            await().atMost(Duration.ofSeconds(10)).until(() -> publisher.publishAll(Messages.orders(5)).isEmpty());
        }
    }

    @Test
    void a_broker_that_stops_answering_fails_the_batch_within_the_timeout_and_the_next_batch_succeeds_when_it_answers()
            throws Exception {
        try (RabbitMqPublisher publisher = publisher()) {
            assertThat(publisher.publishAll(Messages.orders(1))).isEmpty();

            proxy.freeze();
            List<OutboxMessage> batch = Messages.orders(10);
            long started = System.nanoTime();
            Map<UUID, Exception> failures = publisher.publishAll(batch);
            Duration took = Duration.ofNanos(System.nanoTime() - started);

            assertThat(took).isBetween(TIMEOUT.minusMillis(50), TIMEOUT.plusMillis(500));
            assertThat(failures).containsOnlyKeys(batch.stream().map(OutboxMessage::id).toList());
            assertThat(failures.values()).allSatisfy(e -> assertThat(e).hasMessage("no confirm from RabbitMQ within 1500 ms "
                    + "(exchange '" + exchange + "'): the broker is slow, blocked or unreachable"));

            proxy.thaw();
            assertThat(publisher.publishAll(Messages.orders(3))).isEmpty();
        }
        // The timed-out batch did reach the broker: a retry will be a duplicate the consumer skips.
        assertThat(broker.ready(queue)).isEqualTo(14);
    }

    @Test
    void a_publisher_built_while_the_broker_is_unreachable_delivers_once_it_answers() throws Exception {
        proxy.cut();
        try (RabbitMqPublisher publisher = publisher()) {
            assertThat(publisher.isConnected()).isFalse();
            Map<UUID, Exception> failures = publisher.publishAll(Messages.orders(2));
            assertThat(failures).hasSize(2);
            assertThat(failures.values()).allSatisfy(e -> assertThat(e).hasMessageContaining("cannot publish to RabbitMQ"));

            proxy.restore();
            await().atMost(Duration.ofSeconds(10)).until(() -> publisher.publishAll(Messages.orders(1)).isEmpty());
            assertThat(publisher.isConnected()).isTrue();
        }
    }

    @Test
    void a_publisher_built_while_the_broker_is_unreachable_connects_once_it_answers_with_no_batch_to_publish()
            throws Exception {
        proxy.cut();
        try (RabbitMqPublisher publisher = publisher()) {
            assertThat(publisher.isConnected()).isFalse();

            proxy.restore();

            await().atMost(Duration.ofSeconds(10)).until(publisher::isConnected);
            assertThat(publisher.publishAll(Messages.orders(1))).isEmpty();
        }
    }

    @Test
    void a_batch_failed_because_the_broker_is_unreachable_counts_as_unavailable() throws Exception {
        try (RabbitMqPublisher publisher = publisher()) {
            assertThat(publisher.publishAll(Messages.orders(1))).isEmpty();
            proxy.cut();
            await().atMost(Duration.ofSeconds(5)).until(() -> !publisher.isConnected());

            Map<UUID, Exception> failures = publisher.publishAll(Messages.orders(3));

            assertThat(failures).hasSize(3);
            assertThat(failures.values()).allSatisfy(e -> assertThat(FailureReason.of(e))
                    .as("reason of \"%s\"", e.getMessage()).isEqualTo(FailureReason.UNAVAILABLE));
        }
    }

    @Test
    void a_batch_without_confirms_within_the_timeout_counts_as_timeout() throws Exception {
        try (RabbitMqPublisher publisher = publisher()) {
            assertThat(publisher.publishAll(Messages.orders(1))).isEmpty();
            proxy.freeze();
            try {
                Map<UUID, Exception> failures = publisher.publishAll(Messages.orders(3));

                assertThat(failures).hasSize(3);
                assertThat(failures.values()).allSatisfy(e -> assertThat(FailureReason.of(e))
                        .as("reason of \"%s\"", e.getMessage()).isEqualTo(FailureReason.TIMEOUT));
            } finally {
                proxy.thaw();
            }
        }
    }
}
