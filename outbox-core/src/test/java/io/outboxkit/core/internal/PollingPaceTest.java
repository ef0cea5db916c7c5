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
        wokeQuickly(pace, PollingPace.QUICK_WAKES_TO_POLL - 1);
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
        wokeQuickly(pace, PollingPace.QUICK_WAKES_TO_POLL);
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

    @Test
    void a_worker_looking_on_its_own_pauses_a_millisecond_after_messages_and_longer_while_it_finds_none() {
        PollingPace.Looks looks = new PollingPace.Looks();
        long now = 0;
        assertThat(looks.pauseAfter(3, now)).isEqualTo(1);
        List<Long> pauses = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            pauses.add(looks.pauseAfter(0, ++now));
        }
        assertThat(pauses).containsExactly(1L, 2L, 4L, PollingPace.MAX_PAUSE_MILLIS);
        assertThat(looks.pauseAfter(2, ++now)).as("messages again").isEqualTo(1);
    }

    @Test
    void a_worker_that_found_nothing_for_the_idle_time_is_told_to_wait_for_notifications_unless_a_look_found_messages() {
        long idle = PollingPace.IDLE_MILLIS * 1_000_000L;
        PollingPace.Looks looks = new PollingPace.Looks();
        assertThat(looks.pauseAfter(0, 1)).isPositive();
        assertThat(looks.pauseAfter(0, idle)).as("just short of the idle time").isPositive();
        assertThat(looks.pauseAfter(0, 1 + idle)).isEqualTo(-1);

        PollingPace.Looks busy = new PollingPace.Looks();
        busy.pauseAfter(0, 1);
        busy.found(); // a full batch, claimed again at once
        assertThat(busy.pauseAfter(0, 1 + idle)).as("the idle time starts again after messages").isPositive();

        PollingPace.Looks reset = new PollingPace.Looks();
        reset.pauseAfter(0, 1);
        reset.reset();
        assertThat(reset.pauseAfter(0, 1 + idle)).isEqualTo(1);
    }

    private static void wokeQuickly(PollingPace pace, int times) {
        for (int i = 0; i < times; i++) {
            pace.woke(QUICK, POLL_INTERVAL_MILLIS, 1);
        }
    }
}
