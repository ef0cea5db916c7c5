package io.outboxkit.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.function.BiConsumer;

/**
 * Where the machine's CPU went during a phase, from /proc: the machine in all, all PostgreSQL
 * processes (of every database on the server), each service, and this bench process. Linux only;
 * elsewhere it reports nothing.
 */
final class CpuMeter {

    private static final double TICKS_PER_SECOND = 100.0; // USER_HZ on Linux
    /** The part that counts the bench database's backends only. */
    static final String BENCH_DB_BACKENDS = "postgres (bench db)";

    /** CPU seconds so far, by part. */
    record Sample(long nanoTime, Map<String, Double> seconds) {
    }

    private CpuMeter() {
    }

    static Sample sample(List<Service> services) {
        return sample(services, List.of());
    }

    /**
     * As {@link #sample(List)}, plus "postgres (bench db)": the PostgreSQL backends {@code backends}
     * (the bench database's connections, from {@link BenchDb#backendPids}), apart from the other
     * databases' and the server's own processes, which "postgres" counts too.
     */
    static Sample sample(List<Service> services, List<Long> backends) {
        Map<String, Double> seconds = new LinkedHashMap<>();
        try {
            seconds.put("machine", machineBusy());
            seconds.put("postgres", postgres());
            if (!backends.isEmpty()) {
                seconds.put(BENCH_DB_BACKENDS, backends.stream().mapToDouble(CpuMeter::process).sum());
            }
            for (Service service : services) {
                seconds.merge(service.name().replaceAll("-\\d+$", ""), process(service.pid()), Double::sum);
            }
            seconds.put("bench (with pgbench, wrk)", processAndChildren(ProcessHandle.current().pid()));
        } catch (IOException | RuntimeException e) {
            // no /proc: no CPU figures
        }
        return new Sample(System.nanoTime(), seconds);
    }

    /** CPU seconds spent by each part between two samples. */
    static Map<String, Double> spent(Sample from, Sample to) {
        Map<String, Double> spent = new LinkedHashMap<>();
        for (Map.Entry<String, Double> part : to.seconds().entrySet()) {
            spent.put(part.getKey(), Math.max(0, part.getValue() - from.seconds().getOrDefault(part.getKey(), 0.0)));
        }
        return spent;
    }

    /** The CPU share (1.0 = one core) of each part between two samples. */
    static Map<String, Double> cores(Sample from, Sample to) {
        double wall = (to.nanoTime() - from.nanoTime()) / 1e9;
        Map<String, Double> cores = new LinkedHashMap<>();
        for (Map.Entry<String, Double> part : to.seconds().entrySet()) {
            double before = from.seconds().getOrDefault(part.getKey(), 0.0);
            // A process that ended between the samples takes its CPU with it: never report less than 0.
            cores.put(part.getKey(), Math.max(0, (part.getValue() - before) / wall));
        }
        return cores;
    }

    /** "machine 1.9, postgres 1.1, consumer 0.3, ..." in cores. */
    static String describe(Map<String, Double> cores) {
        StringBuilder text = new StringBuilder();
        cores.forEach((part, share) -> text.append(text.length() == 0 ? "" : ", ").append(part).append(' ')
                .append(String.format("%.2f", share)));
        return text.toString();
    }

    private static double machineBusy() throws IOException {
        String[] cpu = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        long busy = 0;
        for (int i = 1; i < cpu.length && i <= 8; i++) {
            if (i != 4 && i != 5) { // idle, iowait
                busy += Long.parseLong(cpu[i]);
            }
        }
        return busy / TICKS_PER_SECOND;
    }

    private static double postgres() throws IOException {
        double total = 0;
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path proc : procs) {
                try {
                    if (Files.readString(proc.resolve("comm")).trim().startsWith("postgres")) {
                        total += ticks(proc);
                    }
                } catch (IOException | RuntimeException e) {
                    // the process ended meanwhile
                }
            }
        }
        return total / TICKS_PER_SECOND;
    }

    private static double process(long pid) {
        return processSeconds(pid).orElse(0);
    }

    /** A process's CPU seconds so far (user and system, from {@code /proc}); empty when it cannot be read. */
    static OptionalDouble processSeconds(long pid) {
        try {
            return OptionalDouble.of(ticks(Path.of("/proc/" + pid)) / TICKS_PER_SECOND);
        } catch (IOException | RuntimeException e) {
            return OptionalDouble.empty();
        }
    }

    /**
     * A JVM's CPU seconds but its JIT compiler threads': compiling is warm-up, done whenever the
     * JIT gets to it, so it would land in one measured window and not in another. Threads that
     * ended are not counted; 0 without /proc.
     */
    static double withoutJit(long pid) {
        long[] total = {0};
        forThreads(pid, false, (thread, spent) -> total[0] += spent);
        return total[0] / TICKS_PER_SECOND;
    }

    /**
     * The JIT compiler threads of the JVMs {@code pids} and the CPU ticks each spent so far, by
     * {@code pid/tid}: a JVM starts and ends compiler threads as its queue grows and shrinks, so a
     * sum would fall when one ends. Empty without /proc.
     */
    static Map<String, Long> jitTicks(List<Long> pids) {
        Map<String, Long> ticks = new HashMap<>();
        for (long pid : pids) {
            forThreads(pid, true, (thread, spent) -> ticks.put(pid + "/" + thread.getFileName(), spent));
        }
        return ticks;
    }

    /** The CPU seconds the compiler threads of {@code to} spent since {@code from} (a thread new since then: all of it). */
    static double jitSecondsBetween(Map<String, Long> from, Map<String, Long> to) {
        long spent = 0;
        for (Map.Entry<String, Long> thread : to.entrySet()) {
            spent += Math.max(0, thread.getValue() - from.getOrDefault(thread.getKey(), 0L));
        }
        return spent / TICKS_PER_SECOND;
    }

    /** Calls {@code each} with every thread of {@code pid} that is a JIT compiler thread, or every other one. */
    private static void forThreads(long pid, boolean compilers, BiConsumer<Path, Long> each) {
        try (DirectoryStream<Path> threads = Files.newDirectoryStream(Path.of("/proc/" + pid + "/task"))) {
            for (Path thread : threads) {
                try {
                    String name = Files.readString(thread.resolve("comm")).trim();
                    if ((name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre")) == compilers) {
                        each.accept(thread, ticks(thread));
                    }
                } catch (IOException | RuntimeException e) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException e) {
            // no /proc: nothing to count
        }
    }

    /** The process and its children that ended (pgbench, wrk), in CPU seconds. */
    private static double processAndChildren(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]) + Long.parseLong(fields[13])
                    + Long.parseLong(fields[14]);
            return ticks / TICKS_PER_SECOND;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static long ticks(Path proc) throws IOException {
        String stat = Files.readString(proc.resolve("stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime, stime
    }
}
