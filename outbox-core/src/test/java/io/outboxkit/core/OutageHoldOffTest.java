package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.core.spi.NotSentException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The rule of when every worker of a poller holds off claiming, on a clock the test sets. */
class OutageHoldOffTest {

    private static final long SECOND = Duration.ofSeconds(1).toNanos();
    private static final Exception UNREACHABLE = new UncheckedIOException(new ConnectException("Connection refused"));
    private static final Exception NO_ANSWER = new UncheckedIOException(new SocketTimeoutException("Read timed out"));
    private static final Exception REFUSED = new IllegalStateException("broker refused the message");

    private final OutageHoldOff holdOff = new OutageHoldOff(Duration.ofSeconds(2));

    @Test
    void a_full_batch_failing_whole_as_unreachable_holds_every_worker_off_for_the_poll_interval() {
        long claim = holdOff.beforeClaim();
        holdOff.failedWhole(true, List.of(UNREACHABLE, UNREACHABLE), claim, 10 * SECOND);

        assertThat(holdOff.receiverDown()).isTrue();
        assertThat(holdOff.holdOffMillis(10 * SECOND)).isEqualTo(2_001);
        assertThat(holdOff.holdOffMillis(11 * SECOND)).isEqualTo(1_001);
        assertThat(holdOff.holdOffMillis(12 * SECOND)).as("the interval has passed").isZero();
        assertThat(holdOff.receiverDown()).as("until a batch delivers something").isTrue();
    }

    @Test
    void one_failure_saying_the_receiver_did_not_answer_is_enough() {
        holdOff.failedWhole(true, List.of(REFUSED, NO_ANSWER), holdOff.beforeClaim(), 0);

        assertThat(holdOff.holdOffMillis(0)).isPositive();
    }

    @Test
    void a_smaller_batch_a_refused_one_and_one_never_sent_hold_no_worker_off() {
        holdOff.failedWhole(false, List.of(UNREACHABLE), holdOff.beforeClaim(), 0);
        holdOff.failedWhole(true, List.of(REFUSED, REFUSED), holdOff.beforeClaim(), 0);
        holdOff.failedWhole(true, List.of(new NotSentException("not sent: stopping")), holdOff.beforeClaim(), 0);

        assertThat(holdOff.holdOffMillis(0)).isZero();
        assertThat(holdOff.receiverDown()).isFalse();
    }

    @Test
    void a_batch_delivered_since_the_failed_one_was_claimed_shows_it_slow_not_the_receiver_down() {
        long claim = holdOff.beforeClaim();
        holdOff.delivered(); // another worker's batch

        holdOff.failedWhole(true, List.of(NO_ANSWER, NO_ANSWER), claim, 0);

        assertThat(holdOff.holdOffMillis(0)).isZero();
        assertThat(holdOff.receiverDown()).isFalse();
    }

    @Test
    void a_batch_delivered_before_the_failed_one_was_claimed_does_not_prevent_the_hold_off() {
        holdOff.delivered();
        long claim = holdOff.beforeClaim();

        holdOff.failedWhole(true, List.of(UNREACHABLE), claim, 0);

        assertThat(holdOff.holdOffMillis(0)).isPositive();
    }

    @Test
    void a_delivery_ends_the_hold_off_and_the_receiver_counts_as_up() {
        holdOff.failedWhole(true, List.of(UNREACHABLE), holdOff.beforeClaim(), 0);

        holdOff.delivered();

        assertThat(holdOff.holdOffMillis(0)).isZero();
        assertThat(holdOff.receiverDown()).isFalse();
    }

    @Test
    void a_later_failure_holds_off_for_a_poll_interval_from_its_own_outcome() {
        long first = holdOff.beforeClaim();
        long second = holdOff.beforeClaim();
        holdOff.failedWhole(true, List.of(UNREACHABLE), first, 0);

        holdOff.failedWhole(true, List.of(UNREACHABLE), second, SECOND);

        assertThat(holdOff.holdOffMillis(2 * SECOND)).isEqualTo(1_001);
    }

    @Test
    void a_failure_whose_outcome_came_earlier_but_reached_the_rule_later_never_shortens_the_hold_off() {
        long first = holdOff.beforeClaim();
        long second = holdOff.beforeClaim();
        holdOff.failedWhole(true, List.of(UNREACHABLE), second, SECOND);

        holdOff.failedWhole(true, List.of(UNREACHABLE), first, 0);

        assertThat(holdOff.holdOffMillis(2 * SECOND)).isEqualTo(1_001);
    }
}
