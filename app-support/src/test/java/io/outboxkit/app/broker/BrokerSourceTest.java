package io.outboxkit.app.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.outboxkit.app.ConfigException;
import io.outboxkit.core.spi.BatchReceiver;
import io.outboxkit.core.spi.MessageSource;
import io.outboxkit.testing.SecondClose;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * A consumer's source whose broker cannot be reached at start: the start goes on, the source
 * connects in the background, and the receiver given at start is the one it receives with. The
 * module's source is a fake here; {@code consumer}'s BrokerSourceTest runs it against a real NATS.
 */
class BrokerSourceTest {

    private static final BatchReceiver RECEIVER = batch -> Map.of();

    @Test
    void a_source_built_only_after_start_receives_with_the_receiver_given_at_start() {
        FakeSource later = new FakeSource();
        AtomicInteger attempts = new AtomicInteger();
        MessageSource source = connectingAtTheSecondAttempt(later, attempts);
        try {
            assertThat(source).isInstanceOf(BrokerSource.class);
            assertThat(source.isConnected()).isFalse();
            assertThat(source.isAlive()).as("connecting in the background is alive").isTrue();
            source.start(RECEIVER);

            await("connected in the background").atMost(Duration.ofSeconds(10)).until(source::isConnected);
            assertThat(later.receiver).isSameAs(RECEIVER);
            assertThat(attempts.get()).isEqualTo(2);
        } finally {
            source.close();
        }
        assertThat(later.closed).isTrue();
    }

    @Test
    void a_source_that_connects_at_once_is_the_modules_own() {
        FakeSource now = new FakeSource();
        MessageSource source = BrokerSource.connecting(Broker.NATS, "nats at test", () -> now, BrokerConnector::unreachable);
        assertThat(source).isSameAs(now);
    }

    @Test
    void closed_while_connecting_it_closes_the_source_built_meanwhile_and_never_starts_it() throws Exception {
        FakeSource late = new FakeSource();
        CountDownLatch building = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger attempts = new AtomicInteger();
        Supplier<MessageSource> build = () -> {
            if (attempts.incrementAndGet() == 1) {
                throw unreachable();
            }
            building.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // close() interrupts: finish building all the same
            }
            return late;
        };
        MessageSource source = BrokerSource.connecting(Broker.NATS, "nats at test", build, BrokerConnector::unreachable);
        source.start(RECEIVER);
        assertThat(building.await(10, TimeUnit.SECONDS)).as("a second attempt started").isTrue();

        source.close();
        release.countDown();

        await("the late source closed").atMost(Duration.ofSeconds(10)).until(() -> late.closed);
        assertThat(late.receiver).isNull();
        assertThat(source.isConnected()).isFalse();
    }

    @Test
    void a_refusal_that_will_not_pass_by_itself_stops_the_start() {
        ConfigException refused = new ConfigException("SOURCE=nats: authorization violation");
        assertThatThrownBy(() -> BrokerSource.connecting(Broker.NATS, "nats at test", () -> {
            throw refused;
        }, BrokerConnector::unreachable)).isSameAs(refused);
    }

    @Test
    void it_is_started_once() {
        MessageSource source = BrokerSource.connecting(Broker.NATS, "nats at test", () -> {
            throw unreachable();
        }, BrokerConnector::unreachable);
        try {
            source.start(RECEIVER);
            assertThatThrownBy(() -> source.start(RECEIVER)).isInstanceOf(IllegalStateException.class)
                    .hasMessage("nats at test was already started");
        } finally {
            source.close();
        }
        assertThatThrownBy(() -> source.start(RECEIVER)).isInstanceOf(IllegalStateException.class)
                .hasMessage("nats at test was already closed");
    }

    @Test
    void a_close_called_while_another_is_under_way_returns_only_once_the_modules_source_has_closed() throws Exception {
        // Two stops at once (an application context's and a JVM shutdown hook's, say): the caller of either may exit or
        // close the pool next, so neither may return while the module's source still finishes its batch.
        CountDownLatch closing = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        FakeSource slow = new FakeSource() {
            @Override
            public void close() {
                closing.countDown();
                try {
                    finish.await(30, TimeUnit.SECONDS); // the batch in the receiver's hands
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                super.close();
            }
        };
        MessageSource source = connectingAtTheSecondAttempt(slow, new AtomicInteger());
        source.start(RECEIVER);
        await("connected in the background").atMost(Duration.ofSeconds(10)).until(source::isConnected);

        boolean closed = SecondClose.sees(source::close, () -> closing.getCount() == 0, finish::countDown,
                () -> slow.closed);

        assertThat(closed).as("the module's source closed when the second close() returned").isTrue();
    }

    @Test
    void a_source_whose_connector_gave_up_on_a_refusal_met_in_the_background_is_not_alive() {
        AtomicInteger attempts = new AtomicInteger();
        MessageSource source = unreachableAtTheFirstAttempt(() -> {
            throw new ConfigException("SOURCE=nats: authorization violation");
        }, attempts);
        try {
            source.start(RECEIVER);
            assertThat(source.isAlive()).as("connecting in the background is alive").isTrue();

            await("given up").atMost(Duration.ofSeconds(10)).until(() -> !source.isAlive());
            assertThat(attempts.get()).as("no attempt after the refusal").isEqualTo(2);
            assertThat(source.isConnected()).isFalse();
        } finally {
            source.close();
        }
        assertThat(source.isAlive()).as("a closed source is alive").isTrue();
    }

    @Test
    void a_source_connected_in_the_background_that_cannot_start_is_not_alive() {
        FakeSource cannotStart = new FakeSource() {
            @Override
            public void start(BatchReceiver receiver) {
                throw new IllegalStateException("JetStream does not answer"); // as NatsSource.start may
            }
        };
        AtomicInteger attempts = new AtomicInteger();
        MessageSource source = connectingAtTheSecondAttempt(cannotStart, attempts);
        try {
            source.start(RECEIVER);

            await("given up").atMost(Duration.ofSeconds(10)).until(() -> !source.isAlive());
            assertThat(attempts.get()).as("no attempt after the failed start").isEqualTo(2);
            assertThat(cannotStart.closed).as("the source that could not start is closed").isTrue();
            assertThat(source.isConnected()).isFalse();
        } finally {
            source.close();
        }
    }

    @Test
    void a_source_whose_connector_ended_on_an_unexpected_error_is_not_alive() {
        AtomicInteger attempts = new AtomicInteger();
        MessageSource source = unreachableAtTheFirstAttempt(() -> {
            throw new IllegalArgumentException("a bug in the module's builder");
        }, attempts);
        try {
            source.start(RECEIVER);

            await("the connector ended").atMost(Duration.ofSeconds(10)).until(() -> !source.isAlive());
            assertThat(attempts.get()).isEqualTo(2);
        } finally {
            source.close();
        }
    }

    @Test
    void a_source_connected_in_the_background_is_alive_as_the_modules_source_is() {
        AtomicBoolean alive = new AtomicBoolean(true);
        FakeSource later = new FakeSource() {
            @Override
            public boolean isAlive() {
                return alive.get();
            }
        };
        MessageSource source = connectingAtTheSecondAttempt(later, new AtomicInteger());
        try {
            source.start(RECEIVER);
            await("connected in the background").atMost(Duration.ofSeconds(10)).until(source::isConnected);
            assertThat(source.isAlive()).isTrue();

            alive.set(false);
            assertThat(source.isAlive()).as("the module's source's receiving thread ended").isFalse();
        } finally {
            source.close();
        }
    }

    /** A source whose broker is unreachable at the first attempt, counted in {@code attempts}, and which builds {@code later} at the next. */
    private static MessageSource connectingAtTheSecondAttempt(FakeSource later, AtomicInteger attempts) {
        return unreachableAtTheFirstAttempt(() -> later, attempts);
    }

    /** A source whose broker is unreachable at the first attempt, counted in {@code attempts}, and built by {@code then} at the next ones. */
    private static MessageSource unreachableAtTheFirstAttempt(Supplier<MessageSource> then, AtomicInteger attempts) {
        return BrokerSource.connecting(Broker.NATS, "nats at test", () -> {
            if (attempts.incrementAndGet() == 1) {
                throw unreachable();
            }
            return then.get();
        }, BrokerConnector::unreachable);
    }

    private static ConfigException unreachable() {
        return new ConfigException("SOURCE=nats: cannot connect", new IOException("Connection refused"));
    }

    /** A module's source that only records what it was asked. */
    private static class FakeSource implements MessageSource {
        volatile BatchReceiver receiver;
        volatile boolean closed;

        @Override
        public void start(BatchReceiver receiver) {
            this.receiver = receiver;
        }

        @Override
        public boolean isConnected() {
            return receiver != null && !closed;
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
