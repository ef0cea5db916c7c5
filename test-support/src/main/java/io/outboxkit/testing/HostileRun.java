package io.outboxkit.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntFunction;

/**
 * Runs the generated cases of a hostile-input test and reports every case that failed with the
 * seed that generated it, so that the run, or one case alone, can be replayed:
 * {@code -Dhostile.seed=<seed>} repeats a run, {@code -Dhostile.case=<n>} runs case n only,
 * {@code -Dhostile.cases=<count>} changes how many cases are generated.
 */
public final class HostileRun {

    private static final int MAX_REPORTED = 15;

    private final String what;
    private final long seed;
    private final int cases;
    private final int onlyCase;

    private HostileRun(String what, long seed, int cases, int onlyCase) {
        this.what = what;
        this.seed = seed;
        this.cases = cases;
        this.onlyCase = onlyCase;
    }

    /**
     * A run of {@code defaultCases} cases (or {@code hostile.cases}) with a fresh seed (or
     * {@code hostile.seed}), described as {@code what} in its report.
     */
    public static HostileRun of(String what, int defaultCases) {
        String seed = System.getProperty("hostile.seed");
        HostileRun run = new HostileRun(what, seed == null || seed.isBlank() ? ThreadLocalRandom.current().nextLong()
                : Long.parseLong(seed), Integer.getInteger("hostile.cases", defaultCases), Integer.getInteger("hostile.case", -1));
        System.out.println(what + ": " + run.cases() + " generated case(s), seed " + run.seed);
        return run;
    }

    /** The seed of this run. */
    public long seed() {
        return seed;
    }

    /** How many cases it runs. */
    public int cases() {
        return onlyCase >= 0 ? 1 : cases;
    }

    /**
     * Runs {@code check} on every case index; {@code check} returns null when the case passed, else
     * what went wrong. An exception thrown by {@code check} fails its case too.
     *
     * @throws AssertionError listing the failed cases (the first {@value #MAX_REPORTED}), the seed, and how to replay them
     */
    public void forEachCase(IntFunction<String> check) {
        List<String> failures = new ArrayList<>();
        int failed = 0;
        int from = onlyCase >= 0 ? onlyCase : 0;
        int to = onlyCase >= 0 ? onlyCase + 1 : cases;
        for (int index = from; index < to; index++) {
            String problem;
            try {
                problem = check.apply(index);
            } catch (RuntimeException | AssertionError e) {
                problem = "threw " + e;
            }
            if (problem != null) {
                failed++;
                if (failures.size() < MAX_REPORTED) {
                    failures.add("case " + index + ": " + problem);
                }
            }
        }
        if (failed > 0) {
            throw new AssertionError(what + ": " + failed + " of " + (to - from) + " generated cases failed with seed "
                    + seed + " (replay the run with -Dhostile.seed=" + seed + ", one case with -Dhostile.seed=" + seed
                    + " -Dhostile.case=N)\n" + String.join("\n", failures));
        }
    }
}
