package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.OutboxListener;
import io.outboxkit.core.spi.PublishException;
import io.outboxkit.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** What a poller and an idempotent handler tell their listeners, and that a failing listener changes nothing. */
class OutboxListenerTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @Test
    void a_poller_tells_each_claim_delivery_failure_with_its_reason_and_dead_message() {
        List<UUID> ids = Outbox.write(db.jdbi(), 3, 1);
        UUID refused = ids.get(1);
        RecordingListener heard = new RecordingListener();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), message -> {
            if (message.id().equals(refused)) {
                throw new PublishException(FailureReason.TIMEOUT, "no answer within 1 ms");
            }
        }).maxAttempts(1).addListener(heard).build();

        assertThat(poller.pollOnce()).isEqualTo(3);

        assertThat(heard.claims).hasSize(1);
        assertThat(heard.claims.get(0).messages()).isEqualTo(3);
        assertThat(heard.claims.get(0).duration()).isPositive();
        assertThat(heard.deliveries).extracting(RecordingListener.Delivery::id).containsExactlyInAnyOrder(ids.get(0), ids.get(2));
        assertThat(heard.deliveries).allSatisfy(d -> assertThat(d.latency()).isBetween(Duration.ZERO, Duration.ofSeconds(30)));
        assertThat(heard.failures).containsExactly(new RecordingListener.Failure(refused, FailureReason.TIMEOUT));
        assertThat(heard.dead).containsExactly(refused);
        assertThat(Outbox.count(db.jdbi(), "DEAD")).isEqualTo(1);
    }

    @Test
    void the_delivery_latency_runs_from_the_messages_write() {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET created_at = now() - interval '10 seconds' WHERE id = ?", id));
        RecordingListener heard = new RecordingListener();
        OutboxPoller.builder(db.jdbi(), message -> { }).addListener(heard).build().pollOnce();

        assertThat(heard.deliveries).singleElement().satisfies(d ->
                assertThat(d.latency()).isBetween(Duration.ofMillis(9_500), Duration.ofSeconds(15)));
    }

    /** What a broken listener may throw: an Error as well as an exception. */
    static Stream<Named<Runnable>> listenerFailures() {
        return Stream.of(
                Named.of("an exception", () -> {
                    throw new IllegalStateException("listener bug");
                }),
                Named.of("a NoClassDefFoundError (a metrics library of another version)", () -> {
                    throw new NoClassDefFoundError("io/micrometer/core/instrument/Timer$Sample");
                }),
                Named.of("an AssertionError", () -> {
                    throw new AssertionError("listener bug");
                }),
                Named.of("a StackOverflowError", () -> {
                    throw new StackOverflowError();
                }));
    }

    @ParameterizedTest
    @MethodSource("listenerFailures")
    void a_listener_that_throws_changes_nothing_and_the_next_listener_is_still_told(Runnable failure) {
        List<UUID> ids = Outbox.write(db.jdbi(), 2, 1);
        OutboxListener broken = new OutboxListener() {
            @Override
            public void claimed(int messages, Duration duration) {
                failure.run();
            }

            @Override
            public void delivered(OutboxMessage message, Duration latency) {
                failure.run();
            }

            @Override
            public void processed(String consumer, OutboxMessage message, Duration lag) {
                failure.run();
            }
        };
        RecordingListener heard = new RecordingListener();
        RecordingPublisher publisher = new RecordingPublisher();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher).addListener(broken).addListener(heard).build();

        assertThat(poller.pollOnce()).isEqualTo(2);

        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isEqualTo(2);
        assertThat(publisher.deliveredCount()).isEqualTo(2);
        assertThat(heard.claims).hasSize(1);
        assertThat(heard.deliveries).extracting(RecordingListener.Delivery::id).containsExactlyInAnyOrderElementsOf(ids);

        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", (tx, m) -> { })
                .withListener(broken).withListener(heard);
        assertThat(handler.handle(message(ids.get(0)))).isEqualTo(Outcome.PROCESSED);
        assertThat(heard.handled).extracting(RecordingListener.Handled::outcome).containsExactly("processed");
    }

    @Test
    void a_listener_that_throws_an_error_when_the_database_is_down_does_not_end_delivery() {
        AtomicBoolean down = new AtomicBoolean();
        Jdbi flaky = Jdbi.create(() -> {
            if (down.get()) {
                throw new SQLException("connection refused (database down)", "08001");
            }
            return db.dataSource().getConnection();
        });
        OutboxListener broken = new OutboxListener() {
            @Override
            public void pollFailed(Exception error) {
                throw new AssertionError("listener bug");
            }
        };
        try (OutboxPoller poller = OutboxPoller.builder(flaky, new RecordingPublisher())
                .pollInterval(Duration.ofMillis(50)).addListener(broken).build()) {
            poller.start();
            down.set(true);
            await().atMost(Duration.ofSeconds(10)).until(() -> poller.stats().errors() > 0);
            down.set(false);
            List<UUID> ids = Outbox.write(db.jdbi(), 3, 1);

            await("delivered once the database is back").atMost(Duration.ofSeconds(10))
                    .until(() -> Outbox.count(db.jdbi(), "PUBLISHED") == ids.size());
            assertThat(poller.isRunning()).isTrue();
        }
    }

    @Test
    void a_poller_whose_worker_ended_says_it_is_not_running_and_still_closes() {
        OutboxListener fatal = new OutboxListener() {
            @Override
            public void pollFailed(Exception error) {
                throw new OutOfMemoryError("thrown by the test"); // what no cycle survives: it ends the worker
            }
        };
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), message -> { })
                .names(OutboxNames.DEFAULT.withOutboxTable("no_such_outbox"))
                .pollInterval(Duration.ofMillis(20)).addListener(fatal).build();
        poller.start();
        try {
            await("isRunning() says the worker ended").atMost(Duration.ofSeconds(10)).until(() -> !poller.isRunning());
            assertThat(poller.stats().errors()).isEqualTo(1);
        } finally {
            poller.close();
        }
        assertThat(poller.isRunning()).isFalse();
    }

    @Test
    void a_poll_cycle_failing_on_the_database_is_told() {
        RecordingListener heard = new RecordingListener();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), message -> { })
                .names(OutboxNames.DEFAULT.withOutboxTable("no_such_outbox"))
                .pollInterval(Duration.ofMillis(20)).addListener(heard).build();
        poller.start();
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> !heard.pollFailures.isEmpty());
        } finally {
            poller.close();
        }
        assertThat(heard.pollFailures.get(0)).isInstanceOf(OutboxException.class).hasMessageContaining("no_such_outbox");
    }

    @Test
    void a_handler_tells_processed_with_the_lag_from_the_write_then_duplicate_then_failed() {
        RecordingListener heard = new RecordingListener();
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", (tx, m) -> {
            if (m.eventType().equals("Poison")) {
                throw new IllegalArgumentException("cannot apply");
            }
        }).withListener(heard);
        OutboxMessage written10sAgo = new OutboxMessage(UUID.randomUUID(), 1, "Order", "o-1", "OrderCreated", "{}",
                java.util.Map.of(), Instant.now().minusSeconds(10), 1);
        OutboxMessage poison = new OutboxMessage(UUID.randomUUID(), 2, "Order", "o-2", "Poison", "{}", java.util.Map.of(),
                Instant.now(), 1);

        handler.handle(written10sAgo);
        handler.handle(written10sAgo);
        assertThatThrownBy(() -> handler.handle(poison)).isInstanceOf(MessageHandlingException.class);

        assertThat(heard.handled).extracting(RecordingListener.Handled::outcome)
                .containsExactly("processed", "duplicate", "failed");
        assertThat(heard.handled.get(0).lag()).isBetween(Duration.ofMillis(9_500), Duration.ofSeconds(15));
        assertThat(heard.handled).extracting(RecordingListener.Handled::consumer).containsOnly("loyalty");
    }

    @Test
    void a_batch_tells_each_distinct_message_once_with_its_outcome() {
        RecordingListener heard = new RecordingListener();
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", (tx, m) -> {
            if (m.eventType().equals("Poison")) {
                throw new IllegalArgumentException("cannot apply");
            }
        }).withListener(heard);
        OutboxMessage first = message(UUID.randomUUID());
        handler.handle(first);
        heard.handled.clear();
        OutboxMessage fresh = message(UUID.randomUUID());
        OutboxMessage poison = new OutboxMessage(UUID.randomUUID(), 3, "Order", "o-3", "Poison", "{}", java.util.Map.of(),
                Instant.now(), 1);

        handler.handleAll(List.of(first, fresh, poison, fresh));

        assertThat(heard.handled).extracting(h -> h.id() + " " + h.outcome()).containsExactly(
                first.id() + " duplicate", fresh.id() + " processed", poison.id() + " failed");
    }

    @Test
    void failures_are_classified_by_what_the_publisher_says_or_else_by_the_kind_of_exception() {
        assertThat(FailureReason.of(new PublishException(FailureReason.UNAVAILABLE, "broker down"))).isEqualTo(FailureReason.UNAVAILABLE);
        assertThat(FailureReason.of(new RuntimeException(new PublishException(FailureReason.REFUSED, "nack"))))
                .isEqualTo(FailureReason.REFUSED);
        assertThat(FailureReason.of(new java.net.SocketTimeoutException("read timed out"))).isEqualTo(FailureReason.TIMEOUT);
        assertThat(FailureReason.of(new java.util.concurrent.TimeoutException())).isEqualTo(FailureReason.TIMEOUT);
        assertThat(FailureReason.of(new IllegalStateException(new BrokerTimeoutException()))).isEqualTo(FailureReason.TIMEOUT);
        assertThat(FailureReason.of(new java.net.ConnectException("Connection refused"))).isEqualTo(FailureReason.UNAVAILABLE);
        assertThat(FailureReason.of(new java.io.IOException("broken pipe"))).isEqualTo(FailureReason.UNAVAILABLE);
        assertThat(FailureReason.of(new IllegalArgumentException("record too large"))).isEqualTo(FailureReason.REFUSED);
        assertThat(FailureReason.of(null)).isEqualTo(FailureReason.REFUSED);
        RuntimeException cycle = new RuntimeException("a");
        cycle.initCause(new RuntimeException("b", cycle));
        assertThat(FailureReason.of(cycle)).isEqualTo(FailureReason.REFUSED);
        assertThat(FailureReason.TIMEOUT.label()).isEqualTo("timeout");
    }

    /** As a broker client names its own timeout (Kafka's is not a java.util.concurrent one). */
    private static final class BrokerTimeoutException extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }

    private static OutboxMessage message(UUID id) {
        return new OutboxMessage(id, 1, "Order", "o-" + id, "OrderCreated", "{}", java.util.Map.of(), Instant.now(), 1);
    }
}
