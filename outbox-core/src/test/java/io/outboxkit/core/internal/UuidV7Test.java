package io.outboxkit.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/**
 * Message ids: RFC 9562 version 7, carrying their millisecond, each greater than the one before in
 * the process whatever the clock does and however many threads take them, and unique.
 */
class UuidV7Test {

    private static final long MILLIS = 1_780_000_000_000L;

    @Test
    void an_id_is_version_7_of_the_rfc_variant_and_carries_its_millisecond() {
        long before = System.currentTimeMillis();
        UUID id = UuidV7.next();
        long after = System.currentTimeMillis();

        assertThat(id.version()).isEqualTo(7);
        assertThat(id.variant()).isEqualTo(2);
        assertThat(id.getMostSignificantBits() >>> 16).isBetween(before, after);
    }

    @Test
    void ids_of_one_millisecond_count_up_within_it() {
        UuidV7 ids = new UuidV7(42);
        UUID first = ids.next(MILLIS);
        UUID second = ids.next(MILLIS);

        assertThat(millis(second)).isEqualTo(MILLIS);
        assertThat(counter(second)).isEqualTo(counter(first) + 1);
        assertThat(second).isGreaterThan(first);
    }

    @Test
    void past_4096_ids_in_one_millisecond_the_ids_run_into_the_next_one_and_still_increase() {
        UuidV7 ids = new UuidV7(42);
        UUID last = ids.next(MILLIS);
        for (int i = 1; i < 4096; i++) {
            UUID next = ids.next(MILLIS);
            assertThat(next).isGreaterThan(last);
            last = next;
        }
        assertThat(millis(last)).isEqualTo(MILLIS);

        UUID beyond = ids.next(MILLIS);

        assertThat(millis(beyond)).isEqualTo(MILLIS + 1);
        assertThat(beyond).isGreaterThan(last);
    }

    @Test
    void a_clock_that_steps_back_never_makes_an_earlier_id() {
        UuidV7 ids = new UuidV7(42);
        UUID before = ids.next(MILLIS);

        UUID afterStepBack = ids.next(MILLIS - 5_000);

        assertThat(afterStepBack).isGreaterThan(before);
        assertThat(millis(afterStepBack)).isEqualTo(MILLIS);
    }

    @Test
    void ids_taken_by_many_threads_at_once_are_all_distinct_and_increase_in_each_thread() throws Exception {
        int threads = 16;
        int perThread = 20_000;
        Set<UUID> all = ConcurrentHashMap.newKeySet();
        List<String> unordered = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread worker = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                UUID last = null;
                for (int i = 0; i < perThread; i++) {
                    UUID id = UuidV7.next();
                    all.add(id);
                    if (last != null && id.compareTo(last) <= 0) {
                        synchronized (unordered) {
                            unordered.add(last + " then " + id);
                        }
                    }
                    last = id;
                }
            });
            worker.start();
            workers.add(worker);
        }
        start.countDown();
        for (Thread worker : workers) {
            worker.join();
        }

        assertThat(unordered).isEmpty();
        assertThat(all).hasSize(threads * perThread);
    }

    @Test
    void the_random_part_differs_from_id_to_id_and_between_differently_salted_processes() {
        UuidV7 one = new UuidV7(1);
        UuidV7 other = new UuidV7(2);
        Set<Long> randomParts = new HashSet<>();
        for (int i = 0; i < 1_000; i++) {
            randomParts.add(one.next(MILLIS).getLeastSignificantBits());
            randomParts.add(other.next(MILLIS).getLeastSignificantBits());
        }

        assertThat(randomParts).hasSize(2_000);
    }

    private static long millis(UUID id) {
        return id.getMostSignificantBits() >>> 16;
    }

    private static long counter(UUID id) {
        return id.getMostSignificantBits() & 0xFFF;
    }
}
