package io.outboxkit.relay.console;

import io.outboxkit.core.PollerStats;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Delivered and failed messages per second over the last minutes: every second it reads the
 * relay's own {@link PollerStats} counters (no database) and keeps their growth in a ring of
 * {@link #CAPACITY} seconds. One daemon thread; the other methods are thread-safe.
 */
final class RateSampler implements AutoCloseable {

    /** How many one-second samples are kept: 10 minutes. */
    static final int CAPACITY = 600;

    /**
     * The samples, oldest first.
     *
     * @param epochSeconds when each second ended (Unix time, seconds)
     * @param delivered    messages delivered in that second
     * @param failed       failed delivery attempts in that second
     */
    record Series(long[] epochSeconds, long[] delivered, long[] failed) {
    }

    private final Supplier<PollerStats> stats;
    private final long[] times = new long[CAPACITY];
    private final long[] delivered = new long[CAPACITY];
    private final long[] failed = new long[CAPACITY];
    private final ScheduledExecutorService scheduler;
    private int next;
    private int size;
    private PollerStats last;

    private RateSampler(Supplier<PollerStats> stats, ScheduledExecutorService scheduler) {
        this.stats = stats;
        this.scheduler = scheduler;
    }

    /** Starts sampling {@code stats} every {@code period} (a second, except in tests) on a thread named after {@code name}. */
    static RateSampler start(Supplier<PollerStats> stats, Duration period, String name) {
        Objects.requireNonNull(stats, "stats");
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "relay-console-rates-" + name);
            thread.setDaemon(true);
            return thread;
        });
        RateSampler sampler = new RateSampler(stats, scheduler);
        sampler.sample(System.currentTimeMillis() / 1000);
        long millis = period.toMillis();
        scheduler.scheduleAtFixedRate(() -> sampler.sample(System.currentTimeMillis() / 1000), millis, millis,
                TimeUnit.MILLISECONDS);
        return sampler;
    }

    /** Records the counters' growth since the last sample; the first sample only sets the baseline. */
    synchronized void sample(long epochSecond) {
        PollerStats now = stats.get();
        if (last != null) {
            times[next] = epochSecond;
            delivered[next] = Math.max(0, now.delivered() - last.delivered());
            failed[next] = Math.max(0, now.failed() - last.failed());
            next = (next + 1) % CAPACITY;
            size = Math.min(size + 1, CAPACITY);
        }
        last = now;
    }

    /** A copy of the samples, oldest first. */
    synchronized Series series() {
        long[] t = new long[size];
        long[] d = new long[size];
        long[] f = new long[size];
        int start = (next - size + CAPACITY) % CAPACITY;
        for (int i = 0; i < size; i++) {
            int at = (start + i) % CAPACITY;
            t[i] = times[at];
            d[i] = delivered[at];
            f[i] = failed[at];
        }
        return new Series(t, d, f);
    }

    /** Stops sampling. */
    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
