package io.outboxkit.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.core.spi.FailureReason;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** The words an operator reads for a broker failure, and whether the relay tries again; no broker needed. */
class BrokerErrorsTest {

    @Test
    void a_refused_connection_under_wrappers_is_named_and_retried() {
        Exception e = new IllegalStateException("publish failed", new ConnectException("Connection refused"));

        assertThat(BrokerErrors.describe(e)).startsWith("connection refused");
        assertThat(BrokerErrors.isPermanent(e)).isFalse();
    }

    @Test
    void a_failure_whose_causes_form_a_cycle_is_described_and_judged_without_hanging() {
        RuntimeException a = new RuntimeException("channel closed");
        a.initCause(new TimeoutException("no confirm"));
        RuntimeException cycle = new RuntimeException("outer");
        cycle.initCause(new IllegalStateException("inner", cycle));

        assertThat(BrokerErrors.describe(a)).isEqualTo("no answer in time (no confirm)");
        assertThat(BrokerErrors.describe(cycle)).contains("outer");
        assertThat(BrokerErrors.isPermanent(cycle)).isFalse();
    }

    @Test
    void a_failure_that_is_not_a_refusal_counts_as_a_timeout_when_its_causes_say_so_else_as_unavailable() {
        assertThat(BrokerErrors.reason(new IllegalStateException("channel open", new SocketTimeoutException("connect timed out"))))
                .isEqualTo(FailureReason.TIMEOUT);
        assertThat(BrokerErrors.reason(new IllegalStateException("publish failed", new ConnectException("Connection refused"))))
                .isEqualTo(FailureReason.UNAVAILABLE);
        assertThat(BrokerErrors.reason(new IllegalStateException("no reason given"))).isEqualTo(FailureReason.UNAVAILABLE);
    }
}
