package io.outboxkit.core.internal;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Whether a poller waits for notifications or, while commits come faster than a notification is
 * worth, looks on its own after short pauses. Shared by a poller's workers. Thread-safe.
 *
 * <p>Why: a commit that notifies takes a database-wide lock held through its WAL flush, so
 * notifying commits cannot share a flush. While a poller waits for notifications and commits come
 * every few milliseconds, every commit notifies: the writers' commits queue behind each other,
 * and the database spends more per commit than the poller would spend looking on its own. So a
 * poller woken within {@link #QUICK_WAKE_MILLIS} per message it then claims, {@link #QUICK_WAKES_TO_POLL}
 * times in a row, withdraws its announcement (writers stop notifying) and looks again after
 * pauses of 1 ms, doubling to {@link #MAX_PAUSE_MILLIS}; once its looks have found nothing for
 * {@link #IDLE_MILLIS}, it announces and waits for notifications again.
 *
 * <p>No commit is missed: a poller that looks on its own finds a commit within one pause. Another
 * poller (another process) that announced before the withdrawal may wait without being notified,
 * at most until its poll interval (twice it, when the withdrawing poller dies in that spell),
 * while the withdrawing one finds what it would have been woken for.
 */
public final class PollingPace {

    /** A wait that ended this soon after it began was ended by a commit coming close behind the last. */
    public static final long QUICK_WAKE_MILLIS = 5;
    /** Quick wake-ups in a row after which a poller looks on its own. */
    public static final int QUICK_WAKES_TO_POLL = 3;
    /** The longest pause between two looks of a poller looking on its own. */
    public static final long MAX_PAUSE_MILLIS = 4;
    /** How long a poller looking on its own finds nothing before it goes back to waiting for notifications. */
    public static final long IDLE_MILLIS = 50;

    private final AtomicBoolean polling = new AtomicBoolean();
    private final AtomicInteger quickWakes = new AtomicInteger();

    /** Whether the poller looks on its own rather than announcing that it waits. */
    public boolean polling() {
        return polling.get();
    }

    /**
     * Records how a wait for a notification of at most {@code waitMillis} ended: after
     * {@code waitedNanos}, followed by a claim of {@code claimed} messages. It was quick when it
     * ended early and lasted less than {@link #QUICK_WAKE_MILLIS} per message claimed (at least
     * one): notifications may come late under a stream of commits, batched by the driver, and then
     * the claim takes all the commits of the wait. Returns true when this wake-up switched the
     * poller to looking on its own (the caller withdraws the announcement).
     */
    public boolean woke(long waitedNanos, long waitMillis, int claimed) {
        boolean quick = waitMillis > QUICK_WAKE_MILLIS && waitedNanos < waitMillis * 1_000_000L
                && waitedNanos < QUICK_WAKE_MILLIS * 1_000_000L * Math.max(1, claimed);
        if (!quick) {
            quickWakes.set(0);
            return false;
        }
        if (quickWakes.incrementAndGet() < QUICK_WAKES_TO_POLL) {
            return false;
        }
        quickWakes.set(0);
        return polling.compareAndSet(false, true);
    }

    /** Ends looking on its own (idle, or the receiving side failing): the next wait is for a notification. */
    public void stopPolling() {
        polling.set(false);
        quickWakes.set(0);
    }

    /** The pause after one of {@code previousMillis} (0 after a look that found messages): 1 ms, doubling up to the maximum. */
    public static long nextPause(long previousMillis) {
        return Math.min(Math.max(1, previousMillis * 2), MAX_PAUSE_MILLIS);
    }

    /** One worker's looks while its poller looks on its own: the pause before each, and when to stop. Not thread-safe. */
    public static final class Looks {

        private long pauseMillis;
        private long foundNothingSince;

        /** A look found messages: the time spent finding nothing starts again. */
        public void found() {
            foundNothingSince = 0;
        }

        /**
         * The pause before the next look, after one that claimed {@code claimed} messages at
         * {@code nowNanos}: 1 ms after messages, doubling while nothing is found; -1 once nothing
         * was found for {@link #IDLE_MILLIS} (time to wait for notifications again).
         */
        public long pauseAfter(int claimed, long nowNanos) {
            if (claimed > 0) {
                found();
                pauseMillis = 0;
                return nextPause(0);
            }
            foundNothingSince = foundNothingSince == 0 ? nowNanos : foundNothingSince;
            if (nowNanos - foundNothingSince >= IDLE_MILLIS * 1_000_000L) {
                return -1;
            }
            pauseMillis = nextPause(pauseMillis);
            return pauseMillis;
        }

        /** Forgets the looks so far: the worker waits for notifications. */
        public void reset() {
            foundNothingSince = 0;
            pauseMillis = 0;
        }
    }
}
