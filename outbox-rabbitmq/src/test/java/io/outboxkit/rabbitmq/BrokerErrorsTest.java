package io.outboxkit.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;
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
}
