package io.outboxkit.bench;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A warm-up that lasts until the JIT has compiled what the load runs: the load in rounds of
 * {@value #ROUND_SECONDS} s, until the JIT compiler threads of the JVMs watched spent less than
 * {@value #QUIET_PERCENT}% of a core in a round (within a least and a most time). On two busy cores
 * C2 takes a minute or more to compile the paths of Jetty, Javalin, the driver and the pool; a warm-up
 * of fixed length could end before that, and the measured window would then count slower code and
 * the compilers' own CPU.
 */
final class JitWarmUp {

    static final int ROUND_SECONDS = 5;
    static final double QUIET_PERCENT = 2;

    /** The load of one round. */
    interface Load {
        void run(Duration round) throws Exception;
    }

    private JitWarmUp() {
    }

    /**
     * Runs {@code load} in rounds for at least {@code least}, then until a round in which the
     * compilers of {@code pids} were quiet, for at most {@code most}.
     *
     * @return what the warm-up took, for the report: "40 s, the JIT compilers at 3% of a core in its last 5 s"
     */
    static String run(Load load, List<Long> pids, Duration least, Duration most) throws Exception {
        long start = System.nanoTime();
        double percent;
        while (true) {
            Map<String, Long> before = CpuMeter.jitTicks(pids);
            long roundStart = System.nanoTime();
            load.run(Duration.ofSeconds(ROUND_SECONDS));
            double seconds = (System.nanoTime() - roundStart) / 1e9;
            double compiling = CpuMeter.jitSecondsBetween(before, CpuMeter.jitTicks(pids));
            percent = 100 * compiling / seconds;
            Duration spent = Duration.ofNanos(System.nanoTime() - start);
            if (spent.compareTo(most) >= 0 || (spent.compareTo(least) >= 0 && percent < QUIET_PERCENT)) {
                return String.format(Locale.ROOT, "%d s, the JIT compilers at %.0f%% of a core in its last %d s%s",
                        spent.toSeconds(), percent, ROUND_SECONDS, percent < QUIET_PERCENT ? "" : " (its longest)");
            }
        }
    }
}
