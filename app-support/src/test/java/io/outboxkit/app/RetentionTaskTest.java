package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A stop does not wait for a retention run: retention is resumable, and the next start goes on. A
 * failed run, whatever it threw, leaves the schedule to run again.
 */
class RetentionTaskTest {

    @Test
    void close_interrupts_a_run_in_progress_and_returns_as_soon_as_it_has_stopped() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        AtomicBoolean interrupted = new AtomicBoolean();
        RetentionTask task = RetentionTask.start("test", Duration.ofHours(1), () -> {
            running.countDown();
            try {
                new CountDownLatch(1).await(30, TimeUnit.SECONDS); // a long run: many batches to delete
            } catch (InterruptedException e) {
                interrupted.set(true); // stops between its batches, as OutboxRetention does
                Thread.currentThread().interrupt();
            }
            return "";
        });
        assertThat(running.await(10, TimeUnit.SECONDS)).as("the run started").isTrue();

        long start = System.nanoTime();
        task.close();
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertThat(interrupted).as("the run was interrupted").isTrue();
        assertThat(millis).as("close() took, in ms").isLessThan(1_000);
    }

    @Test
    void a_run_that_throws_an_error_does_not_end_the_schedule() {
        AtomicInteger runs = new AtomicInteger();
        try (RetentionTask task = RetentionTask.start("test", Duration.ofMillis(20), () -> {
            if (runs.incrementAndGet() == 1) {
                throw new AssertionError("a broken run"); // an Error, not an exception
            }
            return "";
        })) {
            await().alias("a run after the one that threw").atMost(Duration.ofSeconds(10)).until(() -> runs.get() >= 2);
        }
    }
}
