package io.outboxkit.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * When a poller stops waiting for notifications and looks on its own: after enough wake-ups in a
 * row that came right behind the start of their wait, or soon enough for the messages claimed
 * after them, and never for waits too short to tell or that ran to their end.
 */
class PollingPaceTest {

    private static final long QUICK = (PollingPace.QUICK_WAKE_MILLIS - 1) * 1_000_000L;
    private static final long SLOW = (PollingPace.QUICK_WAKE_MILLIS + 1) * 1_000_000L;
    private static final long POLL_INTERVAL_MILLIS = 1_000;

    @Test
    void quick_wake_ups_in_a_row_switch_the_poller_to_looking_on_its_own_once() {
        PollingPace pace = new PollingPace();
        for (int i = 1; i < PollingPace.QUICK_WAKES_TO_POLL; i++) {
            assertThat(pace.woke(QUICK, POLL_INTERVAL_MILLIS, 1)).isFalse();
            assertThat(pace.polling()).isFalse();
        }
        assertThat(pace.woke(QUICK, POLL_INTERVAL_MILLIS, 1)).as("the switch is reported once, to withdraw once").isTrue();
        assertThat(pace.polling()).isTrue();
        assertThat(pace.woke(QUICK, POLL_INTERVAL_MILLIS, 1)).isFalse();
        assertThat(pace.polling()).isTrue();
    }

    @Test
    void a_wait_that_lasted_starts_the_count_again() {
        PollingPace pace = new PollingPace();
        for (int i = 1; i < PollingPace.QUICK_WAKES_TO_POLL; i++) {
            pace.woke(QUICK, POLL_INTERVAL_MILLIS, 1);
        }
        pace.woke(SLOW, POLL_INTERVAL_MILLIS, 1);
        for (int i = 1; i < PollingPace.QUICK_WAKES_TO_POLL; i++) {
            assertThat(pace.woke(QUICK, POLL_INTERVAL_MILLIS, 1)).isFalse();
        }
        assertThat(pace.polling()).isFalse();
    }

    @Test
    void waits_no_longer_than_a_quick_wake_up_tell_nothing() {
        PollingPace pace = new PollingPace();
        for (int i = 0; i < 10 * PollingPace.QUICK_WAKES_TO_POLL; i++) {
            assertThat(pace.woke(0, PollingPace.QUICK_WAKE_MILLIS, 1)).isFalse();
        }
        assertThat(pace.polling()).isFalse();
    }

    @Test
    void a_longer_wait_that_many_messages_followed_is_quick_too_but_not_one_that_ran_to_its_end() {
        long twentyMillis = 20_000_000L;
        PollingPace late = new PollingPace();
        for (int i = 0; i < PollingPace.QUICK_WAKES_TO_POLL; i++) {
            late.woke(twentyMillis, POLL_INTERVAL_MILLIS, 8); // notifications come late, batched: 8 commits in 20 ms
        }
        assertThat(late.polling()).as("8 messages in 20 ms").isTrue();

        PollingPace sparse = new PollingPace();
        for (int i = 0; i < 10 * PollingPace.QUICK_WAKES_TO_POLL; i++) {
            sparse.woke(twentyMillis, POLL_INTERVAL_MILLIS, 1);
            sparse.woke(twentyMillis, 20, 8); // the wait's whole length: a timeout, not a wake-up
        }
        assertThat(sparse.polling()).isFalse();
    }

    @Test
    void stopping_goes_back_to_waiting_and_needs_a_new_run_of_quick_wake_ups() {
        PollingPace pace = new PollingPace();
        for (int i = 0; i < PollingPace.QUICK_WAKES_TO_POLL; i++) {
            pace.woke(QUICK, POLL_INTERVAL_MILLIS, 1);
        }
        pace.stopPolling();
        assertThat(pace.polling()).isFalse();
        for (int i = 1; i < PollingPace.QUICK_WAKES_TO_POLL; i++) {
            assertThat(pace.woke(QUICK, POLL_INTERVAL_MILLIS, 1)).isFalse();
        }
        assertThat(pace.woke(QUICK, POLL_INTERVAL_MILLIS, 1)).isTrue();
    }

    @Test
    void pauses_start_at_a_millisecond_and_double_up_to_the_longest() {
        List<Long> pauses = new ArrayList<>();
        long pause = 0;
        for (int i = 0; i < 6; i++) {
            pause = PollingPace.nextPause(pause);
            pauses.add(pause);
        }
        assertThat(pauses).startsWith(1L, 2L).endsWith(PollingPace.MAX_PAUSE_MILLIS, PollingPace.MAX_PAUSE_MILLIS)
                .allMatch(p -> p <= PollingPace.MAX_PAUSE_MILLIS).isSorted();
    }
}
